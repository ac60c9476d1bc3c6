"""``.pt2`` archives are read within fixed bounds (``frontends/pytorch/zipbounds.py``):
entry count, uncompressed sizes before decompressing, JSON size and nesting, and a
failed load keeps nothing (issue 18 items 4-6). The corpus cases run through the
library, the CLI and the app in ``test_bad_inputs.py``; these pin each rule."""

from __future__ import annotations

import zipfile

import pytest

from inspector.errors import InvalidGraphError, ResourceLimitError
from inspector.frontends import load_bytes
from inspector.frontends.pytorch import zipbounds
from tests.bad_inputs import hostile


@pytest.fixture(scope="module")
def base() -> bytes:
    return hostile.base_pt2()


def test_a_deflated_archive_within_the_caps_loads(base):
    loaded = load_bytes(hostile.inflating_pt2(base, entries=2, mb_each=2), "zipped.pt2")
    assert len(loaded.graph.bn_nodes()) == 1


def test_inflation_is_refused_from_the_headers_before_anything_is_decompressed(base,
                                                                               monkeypatch):
    data = hostile.inflating_pt2(base)

    def never(*a, **k):
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(ResourceLimitError, match="inflate to 2,697 MB more .* 1,024 MB limit"):
        load_bytes(data, "bomb.pt2")


def test_the_inflation_cap_follows_max_tensor_mb(base):
    data = hostile.inflating_pt2(base, entries=3, mb_each=2)
    with pytest.raises(ResourceLimitError, match="inflate to 5.99 MB more"):
        load_bytes(data, "z.pt2", max_tensor_mb=5)
    assert load_bytes(data, "z.pt2", max_tensor_mb=10).graph.bn_nodes()


def test_an_entry_that_inflates_past_its_declared_size_is_never_read_past_it(base):
    stream, crc, size = hostile._deflate([(bytes(2**20), 8)])  # 8 MB of zeros...
    e = hostile._entries(base)
    root = hostile._root(e)
    entries = [(n, d, 0, zipfile.crc32(d), len(d)) for n, d in e
               if not n.endswith("weights/weight_0")]
    lying = (root + "data/weights/weight_0", stream, 8, crc, 432)  # ...declared as 432 bytes
    with pytest.raises(InvalidGraphError, match="not a valid .pt2 file .*CRC"):
        load_bytes(hostile._raw_zip([*entries, lying]), "lying.pt2")


def test_read_entry_stops_at_the_limit_even_if_zipfile_would_go_on(base, monkeypatch):
    z = zipfile.ZipFile(__import__("io").BytesIO(hostile.inflating_pt2(base, 1, 2)))
    info = next(i for i in z.infolist() if i.filename.endswith("weight_900"))
    info.file_size = 1000  # what a lying header says; the stream holds 2 MB
    real_open = z.open

    def unbounded(i, *a, **k):
        f = real_open(i, *a, **k)
        f._left = 1 << 40  # a reader that trusts nothing but the stream
        return f

    monkeypatch.setattr(z, "open", unbounded)
    with pytest.raises(ResourceLimitError, match="holds more than .* above the 0.000954 MB"):
        zipbounds.read_entry(z, info, "w", "x.pt2", "payload", cap=1000)


def test_more_entries_than_the_cap_are_refused_before_zipfile_lists_them(base, monkeypatch):
    data = hostile.many_entries_pt2(base)
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda *a, **k: pytest.fail("listed"))
    with pytest.raises(InvalidGraphError, match="has 200,016 entries .* at most 20,000"):
        load_bytes(data, "many.pt2")


def test_an_end_record_that_understates_the_entry_count_does_not_hide_them(base):
    data = hostile.many_entries_pt2(base, extra=30_000, declared=16)
    with pytest.raises(InvalidGraphError, match="has 30,016 entries"):
        load_bytes(data, "lying.pt2")


def test_a_few_hundred_extra_entries_are_fine(base):
    assert load_bytes(hostile.many_entries_pt2(base, extra=500), "x.pt2").graph.bn_nodes()


def test_model_json_over_the_metadata_cap_is_refused_unread(base):
    with pytest.raises(ResourceLimitError,
                       match=r"models/model.json holds 300 MB uncompressed, above the 64 MB "
                             r"limit for metadata"):
        load_bytes(hostile.json_bomb_pt2(base), "j.pt2")


def test_json_nested_too_deep_is_refused_before_parsing(base):
    with pytest.raises(InvalidGraphError, match="nests 100,000 levels deep; .* at most 64"):
        load_bytes(hostile.deep_json_pt2(base), "deep.pt2")


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    text = b'{"a": "' + b"[{" * 500 + b'\\"[", "b": [1]}'
    zipbounds.check_json_depth(text, "m.json", "x.pt2")  # depth 2: accepted


def test_a_failed_load_keeps_no_entry_or_parsed_json_alive(base):
    """The app keeps the error to show it: its traceback must not hold the archive."""
    unit = b'{"k": [1.5, 2.5]},' * 2**12
    stream, crc, size = hostile._deflate([(b"[", 1), (unit, 40), (b"0]", 1)])
    e = hostile._entries(base)
    root = hostile._root(e)
    kept = hostile._stored([(n, d) for n, d in e if n != root + "models/model.json"])
    data = hostile._raw_zip([*kept, (root + "models/model.json", stream, 8, crc, size)])
    with pytest.raises(InvalidGraphError) as info:
        load_bytes(data, "bad_program.pt2")
    big = []
    error: BaseException | None = info.value
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            for name, value in tb.tb_frame.f_locals.items():
                if isinstance(value, (bytearray, dict, list)) and len(value) > 1000:
                    big.append((tb.tb_frame.f_code.co_name, name, len(value)))
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    assert big == []
