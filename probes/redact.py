"""Secrets out of text: the one marker, the one scrub, the one URL helper.

Every message, log line and stored text that could hold a secret (an API key, a webhook
URL, a database password) passes through `scrub` first; database URLs shown to a person
pass through `url_without_password`. The marker is `[REDACTED]`: plain words that no real
key, password or URL path looks like (`***` can be a real password), that say a value was
there and was removed on purpose, and that chat receivers show as written (Slack reads
`<...>` as a link).

This is in probes/, the lowest layer, so that probes and service share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARKER = "[REDACTED]"

# Each pattern's first group is kept; what follows it is the secret.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"),
    re.compile(r"(?i)((?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"),
    re.compile(r"(?i)([?&]key=)[^&\s\"']+"),  # Gemini puts the key in the query string
    re.compile(r"()\b(?:sk|gsk|xai|AIza)[-_A-Za-z0-9]{16,}"),  # well-known key shapes
    re.compile(r"(://[^:/@\s\"']*:)[^@\s\"']+(?=@)"),  # a URL's user:password@
]
# A text cut at a size limit can end inside a secret: a tail this long or longer is hidden.
_MIN_TAIL = 4


def scrub(text: str, secrets: str | Iterable[str | None] | None = ()) -> str:
    """`text` with every known secret (one, or several; None is none), also a cut-off start
    of one at its end, and anything shaped like a credential replaced by MARKER."""
    known = [secrets] if isinstance(secrets, str) else list(secrets or ())
    # The longest first, so a secret that contains another goes whole.
    for secret in sorted({s for s in known if s}, key=len, reverse=True):
        text = text.replace(secret, MARKER)
        for n in range(len(secret) - 1, _MIN_TAIL - 1, -1):
            if text.endswith(secret[:n]):
                text = text[:-n] + MARKER
                break
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MARKER, text)
    return text


def url_without_password(url: str) -> str:
    """The URL with the password of its user:password@ (if any) replaced by MARKER."""
    return _SECRET_PATTERNS[-1].sub(lambda m: m.group(1) + MARKER, url)
