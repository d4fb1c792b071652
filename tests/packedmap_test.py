"""A packed mapping answers every question its dictionary answers."""

from __future__ import annotations

import marshal
import random

import pytest

from prompthooks.packedmap import Packed, pack


@pytest.mark.parametrize("seed", range(10))
def test_a_packed_mapping_is_its_dictionary(seed: int) -> None:
    rng = random.Random(seed)
    names = {"".join(rng.choice("abé_-/ 日0") for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(0, 60))}
    versions = {name: f"{rng.randint(0, 9)}.{rng.randint(0, 99)}.0" for name in names}
    blobs = {name: rng.randbytes(rng.randint(0, 30)) for name in names}
    for mapping, empty in ((versions, ""), (blobs, b"")):
        packed = Packed(marshal.loads(marshal.dumps(pack(mapping, empty))))  # type: ignore[arg-type]
        for name in mapping:
            assert packed[name] == mapping[name] and name in packed
        for missing in ("zz", "", "a" * 9, "日本"):
            if missing not in mapping:
                assert missing not in packed and packed.get(missing) is None
                with pytest.raises(KeyError):
                    packed[missing]
        assert len(packed) == len(mapping) and dict(packed) == mapping and list(packed) == sorted(mapping)


def test_parts_that_do_not_match_are_refused() -> None:
    keys, key_ends, values, value_ends = pack({"a": "1", "b": "2"}, "")
    with pytest.raises(ValueError):
        Packed((keys + "c", key_ends, values, value_ends))
    with pytest.raises(ValueError):
        Packed((keys, key_ends, values, value_ends[:8]))
