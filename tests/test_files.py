"""Shared file helpers: atomic writes, encoding / separator sniffing, archive members."""

from __future__ import annotations

import pytest

from geodata import files


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    files.atomic_write_text(target, "premier")
    files.atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_keeps_previous_file(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("bon", encoding="utf-8")
    with pytest.raises(RuntimeError), files.atomic_writer(target) as handle:
        handle.write("à moitié")
        raise RuntimeError("coupure")
    assert target.read_text(encoding="utf-8") == "bon"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_atomic_path_for_writers_that_create_the_file(tmp_path):
    target = tmp_path / "x.gpkg"
    seen = []

    def write(path):
        seen.append((path.exists(), path.suffix))
        path.write_bytes(b"gpkg")

    files.atomic_write_with(target, write, suffix=".gpkg", exists=False)
    assert seen == [(False, ".gpkg")] and target.read_bytes() == b"gpkg"


def test_sniff_encoding_and_decode():
    assert files.sniff_encoding("\ufeffcode;nom\n".encode()) == "utf-8-sig"
    assert files.sniff_encoding("code;Ambérieu\n".encode()) == "utf-8"
    assert files.sniff_encoding("code;Ambérieu\n".encode("cp1252")) == "cp1252"
    assert files.sniff_encoding("abc é".encode()[:-1]) == "utf-8"  # probe cut in a character
    assert files.sniff_encoding(b"a\x81b\xe9") == "latin-1"  # 0x81 undefined in Windows-1252
    assert files.decode("\ufeffcode;nom".encode()) == ("code;nom", "utf-8-sig")
    assert files.decode("é;b".encode("cp1252")) == ("é;b", "cp1252")
    # a prefix cut inside a UTF-8 character keeps its whole characters
    assert files.decode("aé;bé".encode()[:-1]) == ("aé;b", "utf-8")
    assert files.decode("Ambérieu".encode("cp1252"), "utf-8")[1] == "cp1252"  # wrong forced one


def test_sniff_separator_decimal_commas_and_single_line():
    text = "code;taux;nom\n01001;12,5;A\n01002;3,1;B\n"
    assert files.sniff_separator(text) == ";"
    assert files.sniff_separator("a,b,c") == ","
    assert files.sniff_separator("a\tb") == "\t"
    assert files.sniff_separator("abc") == ";"  # default
    assert files.sniff_separator("abc", default=None) is None


def test_sniff_separator_survives_a_cell_over_128_kb():
    big = "x" * 200_000
    text = f"nom;commentaire;capacite\nA;\"{big}\";12\nB;court;3\n"
    assert files.sniff_separator(text) == ";"
    assert files.split_line(f"a,\"{big}\",c") == ["a", big, "c"]


def test_sniff_separator_on_an_unterminated_quote_falls_back():
    text = 'a;b;c\n"1;2;3\n'
    assert files.sniff_separator(text) == ";"


def test_pick_member_prefers_data_over_meta_and_matches_base_names():
    names = ["dossier/", "dossier/meta_cc_2021.csv", "dossier/cc_2021.csv", "lisez-moi.txt"]
    assert files.pick_member(names, r"^cc_\d{4}\.csv$", "a.zip") == "dossier/cc_2021.csv"
    assert files.pick_member(names, r"cc_\d{4}", "a.zip") == "dossier/cc_2021.csv"
    assert files.pick_member(["package/data/x.json"], r"^package/data/x\.json$", "w") == (
        "package/data/x.json"
    )
    assert files.pick_member(["A.CSV"], "a\\.csv", "z", ignore_case=True) == "A.CSV"
    with pytest.raises(files.MemberError, match=r"ne contient pas.*lisez-moi"):
        files.pick_member(names, r"absent", "a.zip")
    with pytest.raises(files.MemberError, match="plusieurs"):
        files.pick_member(["a1.csv", "a2.csv"], r"a\d", "z.zip")
    assert files.pick_member(["a2.csv", "a1.csv"], r"a\d", "z.zip", several="first") == "a1.csv"


def test_os_errors_are_said_in_french(tmp_path):
    try:
        (tmp_path / ("x" * 300)).write_text("a")
    except OSError as error:
        message = files.os_error_fr(error)
    assert "nom de fichier trop long" in message and "x" * 20 in message
    missing = FileNotFoundError(2, "No such file or directory", "/nulle/part")
    assert files.os_error_fr(missing) == (
        "fichier inaccessible : /nulle/part (fichier ou dossier introuvable)"
    )
