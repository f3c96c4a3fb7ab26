"""A small byte-level BPE tokenizer built here, for guidellm, which insists on loading one
with transformers' AutoTokenizer. No model hub is reachable, and the tokenizer only counts
prompt tokens (the simulated server reports output tokens in its usage): any tokenizer that
round-trips text does, so a tiny one trained on a few sentences is enough."""

from __future__ import annotations

from pathlib import Path

CORPUS = ["Count from 1 to 10, separated by spaces.", "say something short",
          "the quick brown fox jumps over the lazy dog",
          "fwreq 0123456789 abcdefghijklmnopqrstuvwxyz"]


def build_tokenizer(directory: Path) -> Path:
    """Write the tokenizer files into `directory` (idempotent); returns the directory."""
    if (directory / "tokenizer.json").exists():
        return directory
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 10, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    directory.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(directory))
    return directory
