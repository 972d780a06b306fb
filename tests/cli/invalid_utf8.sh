#!/usr/bin/env bash
# Text that is not valid UTF-8 is refused with one clear line naming the byte and its offset, not tokenized into
# garbage.
#   invalid_utf8.sh RESA               a generate prompt (the shipped model)
#   invalid_utf8.sh RESA TOKENIZER     resa tokenize
here=$(dirname "$0")
if [ $# -ge 2 ]; then
  exec "$here/expect.sh" nonzero - "^resa: error: the text is not valid UTF-8 \(bad byte 0xE9 at offset 3\)" -- \
    "$1" tokenize --tokenizer "$2" -p $'caf\xe9'
fi
exec "$here/expect.sh" nonzero - "^resa: error: the prompt is not valid UTF-8" -- "$1" generate -p $'caf\xe9'
