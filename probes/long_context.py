"""The `long_context` probe: plant facts at several depths in filler, then ask for them.

Each depth (0 = the start of the context, 1 = the end) gets one fact, "The access code for
the <name> vault is <6 digits>.", in filler text of about `context_tokens` tokens; the
question at the end asks for every code. A fact counts as recalled when its code appears in
the answer. Names and codes are drawn afresh each run, so no cache can answer.
Extra fields: context_tokens (the size built, ~4 characters a token), facts_planted,
facts_recalled, depths, recalled_depths.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from probes.dialects import Chat
from probes.result import ProbeResult
from probes.stream import exchange
from probes.target import Target

KIND = "long_context"
OPTIONS = frozenset({"context_tokens", "depths"})  # config keys it reads, and max_tokens
CONTEXT_TOKENS = 8000
DEPTHS = (0.1, 0.5, 0.9)
CHARS_PER_TOKEN = 4
FACT = "The access code for the {name} vault is {code}."
_NAMES = ("amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo",
          "juniper", "kestrel", "lagoon", "marble", "nimbus", "onyx", "pepper")
_FILLER = (
    "The committee reviewed the quarterly maintenance schedule for the northern depot.",
    "Rainfall in the valley was close to the long-term average for the season.",
    "Several volunteers repainted the benches along the riverside path last spring.",
    "The library extended its opening hours on weekdays during the examination period.",
    "A new timetable for the regional trains took effect at the start of the month.",
    "Local farmers reported a modest harvest of apples and a strong one of pears.",
    "The museum catalogued a collection of old maps donated by a retired surveyor.",
    "Road works on the eastern bridge were finished two weeks ahead of schedule.",
)


@dataclass(frozen=True)
class Haystack:
    prompt: str
    codes: dict[str, str]  # name -> code, in depth order
    depths: tuple[float, ...]


def build(context_tokens: int, depths: tuple[float, ...], rng: random.Random) -> Haystack:
    names = rng.sample(_NAMES, len(depths))
    codes = {name: f"{rng.randrange(100_000, 1_000_000)}" for name in names}
    sentences: list[str] = []
    size, target = 0, context_tokens * CHARS_PER_TOKEN
    while size < target:
        sentence = f"{_FILLER[len(sentences) % len(_FILLER)]} (Note {len(sentences) + 1}.)"
        sentences.append(sentence)
        size += len(sentence) + 1
    # Insert deepest first, so earlier positions are not shifted by later insertions.
    for depth, name in sorted(zip(depths, names, strict=True), reverse=True):
        sentences.insert(round(depth * len(sentences)), FACT.format(name=name, code=codes[name]))
    question = (
        "Some vaults above were given access codes. Give the access code of each of these "
        f"vaults: {', '.join(names)}. Answer with one line per vault, as 'name: code'."
    )
    return Haystack(" ".join(sentences) + "\n\n" + question, codes, depths)


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    depths = tuple(float(d) for d in target.option("depths", DEPTHS))
    context_tokens = int(target.option("context_tokens", CONTEXT_TOKENS))
    haystack = build(context_tokens, depths, random.Random())
    max_tokens = int(target.option("max_tokens", 16 + 12 * len(depths)))
    answer = await exchange(target, client, Chat(prompt=haystack.prompt, max_tokens=max_tokens))
    extra: dict[str, object] = {"context_tokens": context_tokens, "depths": list(depths)}
    if answer.failure is None:
        recalled = [depth for depth, code in zip(depths, haystack.codes.values(), strict=True)
                    if code in answer.text]
        extra |= {"facts_planted": len(depths), "facts_recalled": len(recalled),
                  "recalled_depths": recalled}
    return answer.result(KIND, extra)
