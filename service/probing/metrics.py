"""The probe pipeline's instruments: what each probe measured, what it cost, and what
held probes back (docs/metrics.md). Labels: config ids and the region."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from probes.result import ProbeResult

TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)


class ProbeMetrics:
    """Instruments the probe pipeline updates."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["candidate", "provider", "region"]
        self.ttft = Histogram(
            "factorwatch_probe_ttft_seconds",
            "Time from the request starting to be sent to the first content token.",
            labels, buckets=TTFT_BUCKETS, registry=registry)
        self.first_answer = Histogram(
            "factorwatch_probe_first_answer_seconds",
            "Time from the request starting to be sent to the first answer token (reasoning "
            "left out).", labels, buckets=TTFT_BUCKETS, registry=registry)
        self.reasoning_tokens = Counter(
            "factorwatch_probe_reasoning_tokens",
            "Tokens probes spent reasoning (reported, or estimated where the API does not "
            "count them); billed as output.", [*labels, "kind"], registry=registry)
        self.duration = Histogram(
            "factorwatch_probe_duration_seconds",
            "End-to-end duration of successful probes, request start to last byte.",
            [*labels, "kind"], buckets=DURATION_BUCKETS, registry=registry)
        self.probes = Counter(
            "factorwatch_probe",
            "Probes run, by result: ok or the error class.",
            [*labels, "kind", "result"], registry=registry)
        self.output_speed = Gauge(
            "factorwatch_probe_output_tokens_per_second",
            "Output speed of the latest successful latency probe: (tokens - 1) / "
            "(last token time - first token time).", labels, registry=registry)
        self.probe_spend = Counter(
            "factorwatch_probe_spend_usd",
            "What probes cost: their reported usage at the candidate's price.",
            ["candidate", "provider"], registry=registry)
        self.budget_exhausted = Gauge(
            "factorwatch_probe_budget_exhausted",
            "1 while the candidate's probes are skipped because a daily probe budget "
            "(per candidate or in total) is spent, else 0.", ["candidate"], registry=registry)
        self.backoff = Gauge(
            "factorwatch_probe_backoff_seconds",
            "Seconds until the candidate is probed again, after a 429 with Retry-After "
            "(capped); 0 when it is not held back.", ["candidate"], registry=registry)
        self.backoff_skipped = Counter(
            "factorwatch_probe_backoff_skipped",
            "Scheduled probe runs skipped because the candidate's Retry-After had not yet "
            "passed; they are neither probes nor failures.", ["candidate", "kind"],
            registry=registry)
        self.adaptive_interval = Gauge(
            "factorwatch_probe_adaptive_interval_seconds",
            "Adaptive probes: the interval the policy chose after the probe's latest run on "
            "this replica (its `every` before the first).", ["candidate", "kind"],
            registry=registry)
        # The voice probe's (probes/voice.py), from the user's turn leaving.
        self.first_audio = Histogram(
            "factorwatch_probe_first_audio_seconds",
            "Voice probes: time from the user's turn leaving to the first audio byte.",
            labels, buckets=TTFT_BUCKETS, registry=registry)
        self.first_speech = Histogram(
            "factorwatch_probe_first_speech_seconds",
            "Voice probes: time from the user's turn leaving to the first audio that is "
            "not silence (10 ms frames above -40 dBFS).", labels, buckets=TTFT_BUCKETS,
            registry=registry)
        self.first_transcript = Histogram(
            "factorwatch_probe_first_transcript_seconds",
            "Voice probes: time from the user's turn leaving to the first piece of the "
            "answer's transcript.", labels, buckets=TTFT_BUCKETS, registry=registry)
        self.realtime_factor = Gauge(
            "factorwatch_probe_realtime_factor",
            "Latest successful voice probe: audio seconds received per wall second while "
            "audio arrived (below 1, playback outruns the audio).", labels, registry=registry)
        self.playback_stall = Gauge(
            "factorwatch_probe_playback_stall_seconds",
            "Latest successful voice probe: how long playback, started at the first audio "
            "byte, would have waited for audio that had not come.", labels, registry=registry)
        self.reader_exits = Gauge(
            "factorwatch_probe_reader_exits",
            "Times since start the process that reads probe connections exited unasked; the "
            "probes it was reading were not recorded, and a new one took over.",
            registry=registry)

    def observe(self, candidate: str, provider: str, region: str, result: ProbeResult) -> None:
        outcome = "ok" if result.ok else str(result.error_class)
        self.probes.labels(candidate, provider, region, result.kind, outcome).inc()
        if result.reasoning_tokens:  # spent, and paid for, whatever became of the probe
            self.reasoning_tokens.labels(candidate, provider, region, result.kind).inc(
                result.reasoning_tokens)
        if not result.ok:
            return
        if result.ttft_seconds is not None:
            self.ttft.labels(candidate, provider, region).observe(result.ttft_seconds)
        if result.first_answer_seconds is not None:
            self.first_answer.labels(candidate, provider, region).observe(
                result.first_answer_seconds)
        if result.total_seconds is not None:
            self.duration.labels(candidate, provider, region, result.kind).observe(
                result.total_seconds)
        if result.output_tokens_per_second is not None:
            self.output_speed.labels(candidate, provider, region).set(
                result.output_tokens_per_second)
        self._observe_voice((candidate, provider, region), result)

    def _observe_voice(self, labels: tuple[str, str, str], result: ProbeResult) -> None:
        for histogram, value in ((self.first_audio, result.first_audio_seconds),
                                 (self.first_speech, result.first_speech_seconds),
                                 (self.first_transcript, result.first_transcript_seconds)):
            if value is not None:
                histogram.labels(*labels).observe(value)
        for gauge, figure in ((self.realtime_factor, result.realtime_factor),
                              (self.playback_stall, result.playback_stall_seconds)):
            if figure is not None:
                gauge.labels(*labels).set(figure)
