"""The real `swift` CLI (python-swiftclient) against the proxy."""

import hashlib
import re

from conftest import sha256_file, write_random

BIG = 200 * 1024 * 1024


def stat_fields(text):
    """`swift stat` output as {field: value}."""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def test_auth_prints_storage_url_and_token(swift):
    r = swift("auth")
    assert re.search(r"export OS_STORAGE_URL=http://127\.0\.0\.1:\d+/v1/AUTH_test", r.stdout), r.stdout
    assert re.search(r"export OS_AUTH_TOKEN=\S+", r.stdout), r.stdout


def test_stat_account(swift):
    fields = stat_fields(swift("stat").stdout)
    assert fields["Account"] == "AUTH_test"
    assert "Containers" in fields and "Objects" in fields and "Bytes" in fields


def test_post_metadata_then_stat_shows_it(swift):
    swift("post", "-m", "color:blue")
    assert stat_fields(swift("stat").stdout)["Meta Color"] == "blue"
    swift("post", "cli-meta", "-m", "owner:alice", "-m", "project:ferro")
    fields = stat_fields(swift("stat", "cli-meta").stdout)
    assert fields["Container"] == "cli-meta"
    assert fields["Meta Owner"] == "alice"
    assert fields["Meta Project"] == "ferro"


def test_upload_small_files_list_prefix_delimiter_download(swift, tmp_path):
    names = ["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "docs/readme.txt", "top.txt"]
    digests = {}
    for i, name in enumerate(names):
        src = tmp_path / f"src{i}"
        digests[name] = write_random(src, 1000 + 37 * i)
        swift("upload", "cli-small", str(src), "--object-name", name)

    listing = swift("list", "cli-small").stdout.split()
    assert listing == sorted(names)
    assert swift("list", "cli-small", "--prefix", "photos/").stdout.split() == names[:3]
    assert swift("list", "cli-small", "--delimiter", "/").stdout.split() == ["docs/", "photos/", "top.txt"]
    assert swift("list", "cli-small", "--prefix", "photos/", "--delimiter", "/").stdout.split() == [
        "photos/2024/",
        "photos/2025/",
    ]

    out = tmp_path / "out"
    swift("download", "cli-small", "--output-dir", str(out))
    for name, digest in digests.items():
        assert sha256_file(out / name) == digest, name

    fields = stat_fields(swift("stat", "cli-small").stdout)
    assert fields["Objects"] == "5"


def test_upload_200mb_single_put_and_download_byte_for_byte(swift, tmp_path):
    src = tmp_path / "big.bin"
    digest = write_random(src, BIG)
    md5 = hashlib.md5()
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
    swift("upload", "cli-big", str(src), "--object-name", "big.bin")
    fields = stat_fields(swift("stat", "cli-big", "big.bin").stdout)
    assert fields["Content Length"] == str(BIG)
    assert fields["ETag"] == md5.hexdigest()
    assert "Manifest" not in fields  # one plain object, not segments

    dst = tmp_path / "big.out"
    swift("download", "cli-big", "big.bin", "-o", str(dst))
    assert dst.stat().st_size == BIG
    assert sha256_file(dst) == digest
    dst.unlink()
    swift("delete", "cli-big", "big.bin")


def test_delete_objects_and_container(swift, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"to be deleted")
    swift("upload", "cli-del", str(src), "--object-name", "a")
    swift("upload", "cli-del", str(src), "--object-name", "b")
    swift("delete", "cli-del", "a")
    assert swift("list", "cli-del").stdout.split() == ["b"]
    r = swift("download", "cli-del", "a", "-o", str(tmp_path / "gone"), check=False)
    assert r.returncode != 0
    assert "not found" in r.stderr.lower(), r.stderr
    swift("delete", "cli-del")  # the rest, then the container
    r = swift("stat", "cli-del", check=False)
    assert r.returncode != 0
    assert "not found" in r.stderr.lower(), r.stderr
    assert "cli-del" not in swift("list").stdout.split()
