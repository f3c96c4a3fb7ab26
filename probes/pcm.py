"""PCM16 audio as a caller hears it: how long it lasts, and where the silence ends.

Realtime APIs stream 16-bit little-endian mono PCM (24 kHz from OpenAI Realtime and Gemini
Live). Some send silence before the speech: a byte of audio is not yet an answer. Speech is
taken to start at the first 10 ms frame whose RMS level is above SPEECH_RMS_DBFS: -40 dBFS
(RMS 328 of 32768). Speech sits around -20 dBFS; digital silence is -inf, and the
comfort noise and dither of a silent stretch stay below -50 dBFS.
"""

from __future__ import annotations

import math
from array import array

SPEECH_RMS_DBFS = -40.0
FRAME_SECONDS = 0.010
_FULL_SCALE = 32768.0


def samples(pcm: bytes) -> array[int]:
    """The signed 16-bit little-endian samples (an odd trailing byte is dropped)."""
    values = array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if array("h", [1]).tobytes() != b"\x01\x00":  # a big-endian machine
        values.byteswap()
    return values


def duration_seconds(byte_count: int, rate: int) -> float:
    return byte_count / 2 / rate


def rms_dbfs(values: array[int] | list[int]) -> float:
    if not values:
        return -math.inf
    mean_square = sum(v * v for v in values) / len(values)
    return 10 * math.log10(mean_square / _FULL_SCALE**2) if mean_square else -math.inf


def first_speech_sample(pcm: bytes, rate: int, threshold_dbfs: float = SPEECH_RMS_DBFS
                        ) -> int | None:
    """The index of the first sample of the first frame louder than the threshold; None
    if the audio is silent throughout. Frames are FRAME_SECONDS long, from the start of
    `pcm` (the last one may be shorter)."""
    values = samples(pcm)
    size = max(1, round(rate * FRAME_SECONDS))
    for start in range(0, len(values), size):
        if rms_dbfs(values[start:start + size]) > threshold_dbfs:
            return start
    return None


class SpeechDetector:
    """Fed an audio stream piece by piece; says which piece brought the first speech.

    Frames are counted from the start of the stream, not of each piece, so a frame split
    across two pieces is judged whole, when its second part arrives."""

    def __init__(self, rate: int, threshold_dbfs: float = SPEECH_RMS_DBFS) -> None:
        self.rate = rate
        self.threshold_dbfs = threshold_dbfs
        self.byte_count = 0
        self.speech_at_sample: int | None = None  # where speech starts, in the stream
        self._pending = b""  # bytes of the frame not yet complete
        self._frame_bytes = 2 * max(1, round(rate * FRAME_SECONDS))

    def feed(self, pcm: bytes) -> bool:
        """Add a piece; True if it is the one that completed the first speech frame."""
        self.byte_count += len(pcm)
        if self.speech_at_sample is not None:
            return False
        self._pending += pcm
        frames = len(self._pending) // self._frame_bytes * self._frame_bytes
        whole, self._pending = self._pending[:frames], self._pending[frames:]
        found = first_speech_sample(whole, self.rate, self.threshold_dbfs)
        if found is None:
            return False
        judged = self.byte_count - len(self._pending) - len(whole)
        self.speech_at_sample = judged // 2 + found
        return True

    def finish(self) -> bool:
        """Judge the last, shorter frame at the end of the stream; True if it is speech."""
        if self.speech_at_sample is not None or not self._pending:
            return False
        found = first_speech_sample(self._pending, self.rate, self.threshold_dbfs)
        if found is None:
            return False
        self.speech_at_sample = (self.byte_count - len(self._pending)) // 2 + found
        self._pending = b""
        return True

    @property
    def seconds(self) -> float:
        return duration_seconds(self.byte_count, self.rate)
