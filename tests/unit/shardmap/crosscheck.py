#!/usr/bin/python3
"""Cross-checks the shard map's key encoding, hashing, slots and shard lookup against an
independent computation with Python's xxhash module (Debian: python3-xxhash).

    /usr/bin/python3 tests/unit/shardmap/crosscheck.py build/tests/shardmap_dump

Writes a few maps as TOML files, feeds about 1000 keys in their Postgres text forms (with the
spellings Postgres accepts: spaces, signs, prefixes, underscores, upper-case and braced uuids)
to shardmap_dump, and compares every hash, slot and shard with what this script computes.
Exits 0 when all agree, 1 on a difference, 77 (skipped) without the xxhash module.
"""

import os
import random
import struct
import subprocess
import sys
import tempfile

try:
    import xxhash
except ImportError:
    print("crosscheck: skipped: the Python xxhash module is missing (apt install python3-xxhash)")
    sys.exit(77)

INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}

# (slot count, [(shard, [ranges] or None for an even split)])
MAPS = [
    (4096, [("a", ["0-999", "3000-4095"]), ("b", ["1000-2999"])]),
    (1, [("only", ["0"])]),
    (2, [("left", ["0"]), ("right", ["1"])]),
    (65536, [("x", None), ("y", None), ("z", None)]),
    (8, [("p", ["0-2", "7"]), ("q", ["3-6"])]),
]

TEXT_POOL = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.@'\"\\/{}[]"
    "äöüßéèñçøåÆŒ" "日本語中文한국어" "Ωπσ" "😀🚀"
)


# Keys: (type, text form, canonical bytes). Text forms hold no newline, the tool's line end.

def int_spelling(rng, value):
    magnitude = abs(value)
    sign = "-" if value < 0 else rng.choice(["", "", "+"])
    style = rng.randrange(6)
    if style == 0:
        digits = format(magnitude, "x")
        digits = "0" + rng.choice("xX") + (digits.upper() if rng.random() < 0.5 else digits)
    elif style == 1:
        digits = "0o" + format(magnitude, "o")
    elif style == 2:
        digits = "0b" + format(magnitude, "b")
    elif style == 3 and magnitude >= 1000:
        digits = format(magnitude, "_d")
    elif style == 4:
        digits = "00" + str(magnitude)
    else:
        digits = str(magnitude)
    space = lambda: "".join(rng.choice(" \t\r\v\f") for _ in range(rng.randrange(3)))
    return space() + sign + digits + space()


def int_keys(rng, count):
    keys = []
    for i in range(count):
        type_name = ["smallint", "int", "bigint"][i % 3]
        low, high = INT_RANGES[type_name]
        edges = [low, high, 0, -1, 1, 42, 123, 456]
        value = edges[i // 3] if i // 3 < len(edges) else rng.randint(low, high)
        text = str(value) if i < 3 * len(edges) else int_spelling(rng, value)
        keys.append((type_name, text, struct.pack("<q", value)))
    return keys


def text_keys(rng, count):
    keys = [("text", "", b""), ("varchar", " padded ", b" padded ")]
    while len(keys) < count:
        text = "".join(rng.choice(TEXT_POOL) for _ in range(rng.randrange(40)))
        keys.append((rng.choice(["text", "varchar"]), text, text.encode("utf-8")))
    return keys


def uuid_spelling(rng, raw):
    digits = raw.hex()
    if rng.random() < 0.3:
        digits = digits.upper()
    style = rng.randrange(4)
    if style == 0:
        text = "-".join([digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:]])
    elif style == 1:
        text = digits
    elif style == 2:
        text = "-".join(digits[i:i + 4] for i in range(0, 32, 4))
    else:
        text = "-".join([digits[:8], digits[8:16], digits[16:24], digits[24:]])
    return "{" + text + "}" if rng.random() < 0.25 else text


def uuid_keys(rng, count):
    keys = []
    for _ in range(count):
        raw = bytes(rng.randrange(256) for _ in range(16))
        keys.append(("uuid", uuid_spelling(rng, raw), raw))
    return keys


# The map, computed independently of the C++ code.

def owners(slot_count, shards):
    owner = [None] * slot_count
    if shards[0][1] is None:
        base, larger = divmod(slot_count, len(shards))
        start = 0
        for i, (name, _) in enumerate(shards):
            size = base + (1 if i < larger else 0)
            owner[start:start + size] = [name] * size
            start += size
        return owner
    for name, ranges in shards:
        for text in ranges:
            first, _, last = text.partition("-")
            for slot in range(int(first), int(last or first) + 1):
                owner[slot] = name
    return owner


def expected(slot_count, owner, canonical):
    digest = xxhash.xxh3_64_intdigest(canonical)
    bits = slot_count.bit_length() - 1
    slot = 0 if bits == 0 else digest >> (64 - bits)
    return format(digest, "016x"), str(slot), owner[slot]


def write_map(directory, index, slot_count, shards):
    lines = ["[sharding]", "slots = %d" % slot_count]
    for name, ranges in shards:
        lines += ["[[shards]]", 'name = "%s"' % name]
        if ranges is not None:
            lines.append("slots = [%s]" % ", ".join('"%s"' % r for r in ranges))
    path = os.path.join(directory, "map%d.toml" % index)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def check_map(tool, path, slot_count, shards, keys):
    owner = owners(slot_count, shards)
    stdin = "".join("%s\t%s\n" % (t, text) for t, text, _ in keys).encode("utf-8")
    run = subprocess.run([tool, path], input=stdin, capture_output=True, check=False)
    if run.returncode != 0:
        print("crosscheck: %s failed: %s" % (tool, run.stderr.decode(errors="replace")))
        return 1
    lines = run.stdout.decode("utf-8").split("\n")[:-1]
    if len(lines) != len(keys):
        print("crosscheck: %d keys in, %d lines out" % (len(keys), len(lines)))
        return 1
    differences = 0
    for (type_name, text, canonical), line in zip(keys, lines):
        want = [type_name, text, *expected(slot_count, owner, canonical)]
        # The key may hold tabs; the type and the three computed fields hold none.
        type_got, _, rest = line.partition("\t")
        got = [type_got, *rest.rsplit("\t", 3)]
        if got != want:
            differences += 1
            if differences <= 10:
                print("crosscheck: %s slots: want %r, got %r" % (slot_count, want, got))
    return differences


def main():
    if len(sys.argv) != 2:
        print("usage: crosscheck.py <path to shardmap_dump>")
        return 2
    rng = random.Random(20240611)
    keys = int_keys(rng, 450) + text_keys(rng, 300) + uuid_keys(rng, 250)
    differences = 0
    with tempfile.TemporaryDirectory() as directory:
        for index, (slot_count, shards) in enumerate(MAPS):
            path = write_map(directory, index, slot_count, shards)
            differences += check_map(sys.argv[1], path, slot_count, shards, keys)
    if differences:
        print("crosscheck: %d differences" % differences)
        return 1
    print("crosscheck: %d keys agree under %d maps" % (len(keys), len(MAPS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
