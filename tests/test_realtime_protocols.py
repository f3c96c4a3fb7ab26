"""The realtime voice protocols read real recorded sessions right; PCM speech detection,
playback figures and close codes (probes/realtime/, probes/pcm.py, probes/voice.py)."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
import yaml

from probes.dialects import ProtocolError
from probes.pcm import SPEECH_RMS_DBFS, SpeechDetector, first_speech_sample, rms_dbfs
from probes.realtime import (
    Audio,
    Ready,
    ServerError,
    Transcript,
    TurnDone,
    VoiceEvent,
    VoiceUsage,
    realtime_api,
)
from probes.result import ErrorClass
from probes.target import Target
from probes.voice import _max_lag, _playback, _Turn, close_class
from service.sim.realtime import answer_pcm
from tests.conftest import REAL_FIXTURES


def replay(name: str, api: str) -> list[VoiceEvent]:
    protocol = realtime_api(api)
    assert protocol is not None
    lines = (REAL_FIXTURES / f"{name}.server_events.jsonl").read_text().splitlines()
    return [event for line in lines for event in protocol.parse(json.loads(line))]


# (recorded session, api, audio messages, the answer's transcript, its usage)
SESSIONS = [
    ("realtime_openai_ga_text_in_audio_out", "openai", 4, "Hi there!",
     VoiceUsage(16, 24, 0, 15)),
    ("realtime_openai_ga_audio_in_server_vad", "openai", 27,
     "Hello, Marcelo! Great to meet you. How can I help you today?",
     VoiceUsage(41, 164, 27, 136)),
    ("realtime_azure_openai_ga_text_in_audio_out", "azure-openai", 16,
     "Hello there! Great to meet you!", VoiceUsage(16, 98, 0, 82)),
    # Azure AI Voice Live speaks the beta event names (response.audio.delta, ...)
    ("realtime_azure_voicelive_beta_names_text_in_audio_out", "azure-openai", 6,
     "Hola, ¿qué tal?", VoiceUsage(16, 45, 0, 31)),
    # thoughtsTokenCount (24) is billed as output: 26 + 24
    ("gemini_live_text_in_audio_out", "gemini", 1, "Hello there.",
     VoiceUsage(1131, 50, None, 26)),
    ("gemini_live_audio_in_server_vad", "gemini", 7, "Hello, Marcelo.",
     VoiceUsage(1197, 65, 1, 37)),
    ("gemini_live_tool_call_round", "gemini", 52,
     'I have recorded a reading of 5 with the note "steady."', VoiceUsage(1267, 103, None, 81)),
]


@pytest.mark.parametrize(("name", "api", "audio", "transcript", "usage"), SESSIONS)
def test_recorded_sessions_parse_into_audio_transcript_and_usage(
        name: str, api: str, audio: int, transcript: str, usage: VoiceUsage) -> None:
    events = replay(name, api)
    assert sum(isinstance(e, Ready) for e in events) == 1  # session.updated / setupComplete
    assert sum(isinstance(e, Audio) for e in events) == audio
    assert all(e.rate == 24000 for e in events if isinstance(e, Audio))
    # the user's own words (input transcription) and Gemini's thoughts are not the answer
    assert "".join(e.text for e in events if isinstance(e, Transcript)) == transcript
    done = [e for e in events if isinstance(e, TurnDone)]
    assert [d.usage for d in done] == [usage]
    assert isinstance(events[-1], TurnDone)  # nothing is taken after the end of the turn


def test_recorded_audio_is_the_base64_of_the_frame() -> None:
    line = (REAL_FIXTURES / "realtime_openai_ga_text_in_audio_out.server_events.jsonl"
            ).read_text().splitlines()[11]
    message = json.loads(line)
    assert message["type"] == "response.output_audio.delta"
    (event,) = realtime_api("openai").parse(message)  # type: ignore[union-attr]
    assert isinstance(event, Audio)
    assert event.pcm == base64.b64decode(message["delta"])


def test_what_the_probe_sends_has_the_recorded_clients_shape() -> None:
    """The recorded clients' sent frames: same message types and the fields that matter."""
    target = Target(api="openai", base_url="https://api.openai.com/v1", model="gpt-realtime")
    sent = _sent("realtime_openai_ga_text_in_audio_out.ws_cassette.yaml")
    openai = realtime_api("openai")
    assert openai is not None
    ours = [openai.setup(target, 200), *openai.turn(target, "Say a short greeting.", 200)]
    assert [m["type"] for m in ours] == [m["type"] for m in sent]
    assert ours[0]["session"]["type"] == sent[0]["session"]["type"] == "realtime"
    assert ours[1]["item"]["content"] == sent[1]["item"]["content"]
    gemini = realtime_api("gemini")
    assert gemini is not None
    g_target = Target(api="gemini", base_url="https://generativelanguage.googleapis.com/v1beta",
                      model="gemini-2.5-flash-native-audio-preview-09-2025")
    g_sent = _sent("gemini_live_text_in_audio_out.ws_cassette.yaml")
    setup, turn = gemini.setup(g_target, 200), gemini.turn(g_target, "Say a short greeting.", 9)
    assert setup["setup"]["model"] == g_sent[0]["setup"]["model"]
    assert setup["setup"]["generationConfig"]["responseModalities"] == ["AUDIO"]
    # the recorder sent snake_case; the API takes the proto JSON names too
    assert turn[0]["clientContent"]["turns"] == g_sent[1]["client_content"]["turns"]


def _sent(cassette: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((REAL_FIXTURES / cassette).read_text())
    return [i["data"] for i in document["interactions"] if i.get("direction") == "sent"]


def test_handshake_urls_and_key_headers() -> None:
    openai = realtime_api("openai")
    azure = realtime_api("azure-openai")
    gemini = realtime_api("gemini")
    assert openai and azure and gemini
    shake = openai.handshake(Target(api="openai", base_url="https://api.openai.com/v1/",
                                    model="gpt-realtime", api_key="k1"))
    assert shake.url == "https://api.openai.com/v1/realtime?model=gpt-realtime"
    assert shake.headers == {"Authorization": "Bearer k1"}
    shake = azure.handshake(Target(api="azure-openai", base_url="https://r.openai.azure.com",
                                   model="my-realtime", api_key="k2"))
    assert shake.url == "https://r.openai.azure.com/openai/v1/realtime?model=my-realtime"
    assert shake.headers == {"api-key": "k2"}
    shake = gemini.handshake(Target(
        api="gemini", base_url="https://generativelanguage.googleapis.com/v1beta",
        model="gemini-live-2.5-flash", api_key="k3"))
    assert shake.url == ("https://generativelanguage.googleapis.com/ws/google.ai."
                         "generativelanguage.v1beta.GenerativeService.BidiGenerateContent")
    assert shake.headers == {"x-goog-api-key": "k3"}  # never in the URL, which gets logged
    assert realtime_api("anthropic") is None


def test_error_events_and_failed_responses() -> None:
    openai = realtime_api("openai")
    assert openai is not None
    (event,) = openai.parse({"type": "error", "error": {
        "type": "invalid_request_error", "code": "invalid_value", "message": "bad voice"}})
    assert event == ServerError("bad voice", "invalid_value")
    (event,) = openai.parse({"type": "response.done", "response": {
        "status": "failed", "status_details": {"type": "failed", "error": {
            "type": "server_error", "message": "boom"}}}})
    assert event == ServerError("boom", "server_error")
    with pytest.raises(ProtocolError, match="not base64"):
        openai.parse({"type": "response.output_audio.delta", "delta": "!!not base64!!"})


@pytest.mark.parametrize(("code", "reason", "error_class"), [
    (None, "", ErrorClass.TRUNCATED),  # dropped without a close frame
    (1006, "", ErrorClass.TRUNCATED),
    (1000, "", ErrorClass.TRUNCATED),  # a clean close, but before the end of the turn
    (1008, "API key not valid. Please pass a valid API key.", ErrorClass.AUTH),
    (1008, "You exceeded your current quota.", ErrorClass.RATE_LIMITED),
    (1008, "models/x is not found for API version v1beta", ErrorClass.HTTP_4XX),
    (1007, "Request contains an invalid argument.", ErrorClass.HTTP_4XX),
    (1011, "Internal error encountered.", ErrorClass.HTTP_5XX),
    (1013, "", ErrorClass.HTTP_5XX),
    (1002, "", ErrorClass.MALFORMED),
    (4000, "", ErrorClass.STREAM_ERROR),
])
def test_close_codes_map_onto_the_error_classes(code: int | None, reason: str,
                                                error_class: ErrorClass) -> None:
    assert close_class(code, reason) == error_class


def _tone(seconds: float, amplitude: int, rate: int = 24000) -> bytes:
    return b"".join(int(amplitude * math.sin(2 * math.pi * 200 * n / rate)).to_bytes(
        2, "little", signed=True) for n in range(round(seconds * rate)))


def test_speech_starts_at_the_first_frame_above_the_threshold() -> None:
    rate = 24000
    silence = bytes(2 * 2400)  # 100 ms of digital silence
    quiet = _tone(0.05, 200)  # ~ -47 dBFS: below the threshold
    loud = _tone(0.2, 8000)  # ~ -15 dBFS
    assert rms_dbfs([0, 0]) == -math.inf
    assert rms_dbfs(list(memoryview(quiet).cast("h"))) < SPEECH_RMS_DBFS
    found = first_speech_sample(silence + quiet + loud, rate)
    assert found == 2400 + 1200  # the first 10 ms frame of the loud part
    assert first_speech_sample(silence + quiet, rate) is None


def test_detector_finds_speech_split_across_pieces_in_the_right_piece() -> None:
    pcm, speech_at = answer_pcm(0.3, 0.2, 24000, False)
    pieces = [pcm[i:i + 1000] for i in range(0, len(pcm), 1000)]  # not frame-aligned
    detector = SpeechDetector(24000)
    said = [detector.feed(piece) for piece in pieces]
    assert said.count(True) == 1
    # the piece that completed the first loud frame
    frame_end = speech_at + 480
    assert said.index(True) == (frame_end - 1) // 1000
    assert detector.speech_at_sample == speech_at // 2
    assert detector.seconds == pytest.approx(0.5)


def test_a_silent_answer_has_no_speech() -> None:
    pcm, _ = answer_pcm(0.3, 0.2, 24000, True)
    detector = SpeechDetector(24000)
    assert not any(detector.feed(pcm[i:i + 4800]) for i in range(0, len(pcm), 4800))
    assert not detector.finish()
    assert detector.speech_at_sample is None


def test_playback_factor_and_stall() -> None:
    # 0.1 s pieces arriving every 0.1 s: as fast as they play, no stall
    steady = [(1.0 + 0.1 * i, 0.1) for i in range(5)]
    assert _playback(steady) == (1.0, 0.0)
    # arriving every 0.2 s: half as fast as they play; playback waits 0.1 s four times
    slow = [(1.0 + 0.2 * i, 0.1) for i in range(5)]
    factor, stall = _playback(slow)
    assert factor == 0.5 and stall == pytest.approx(0.4)
    # all at once: no factor to speak of (no time passed), and nothing to wait for
    assert _playback([(1.0, 0.1), (1.0, 0.1)]) == (None, 0.0)
    assert _playback([]) == (None, None)
    # the largest lag behind playback that never waited: the last piece, 0.4 s late
    assert _max_lag(slow) == pytest.approx(0.4)
    assert _max_lag(steady) == pytest.approx(0.0, abs=1e-9)
    assert _max_lag([]) is None


def test_two_timed_moments_in_one_late_read_are_flagged() -> None:
    turn = _Turn(sent_at=1.0, first_audio_at=1.5, first_speech_at=1.5, first_transcript_at=1.5)
    # audio and speech in two messages that one read brought, 5 ms late: the first audio
    # carries the speech's stamp
    turn.reads = {"first_audio": (3, 0.005), "first_speech": (4, 0.005),
                  "first_transcript": (4, 0.005)}
    assert turn.timing_unreliable() == (0.005, True)
    turn.reads = {name: (3, 0.005) for name in turn.reads}  # one message: one moment
    assert turn.timing_unreliable() == (0.005, False)
    turn.reads = {"first_audio": (3, 0.0002), "first_speech": (4, 0.0002),
                  "first_transcript": (4, 0.0002)}  # read on time: the stamps are right
    assert turn.timing_unreliable() == (0.0002, False)
    turn.first_speech_at = turn.first_transcript_at = 1.6  # another read
    turn.reads["first_audio"] = (3, 0.005)
    assert turn.timing_unreliable() == (0.005, False)
