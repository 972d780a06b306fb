#!/usr/bin/env bash
# A prompt that is not valid UTF-8 is refused with one clear line, not tokenized into garbage.
exec "$(dirname "$0")/expect.sh" nonzero - "^resa: error: the prompt is not valid UTF-8" -- "$1" generate -p $'caf\xe9'
