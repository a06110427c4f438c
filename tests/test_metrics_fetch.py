"""Weights fetch/verify against a real HTTP server on loopback, and the preference-model slot."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
import torch
import yaml

from sentinel.metrics import fetch, preference


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real http.server on 127.0.0.1 serving good.pt (a state dict) and tampered.pt."""
    root = tmp_path_factory.mktemp("served")
    torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, root / "good.pt")
    (root / "tampered.pt").write_bytes(b"not the weights you pinned")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _manifest(path, entries):
    path.write_text(yaml.safe_dump({"files": entries}))
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_downloads_verifies_and_loads_with_weights_only(server, tmp_path, capsys):
    url, root = server
    manifest = _manifest(tmp_path / "m.yaml", [{"name": "inception.pt", "url": f"{url}/good.pt",
                                                "sha256": _sha(root / "good.pt")}])
    out = tmp_path / "weights"
    assert fetch.main(["fetch", "--manifest", str(manifest), "--dir", str(out)]) == 0
    assert "inception.pt: downloaded" in capsys.readouterr().out
    assert fetch.main(["fetch", "--manifest", str(manifest), "--dir", str(out)]) == 0
    assert "inception.pt: present" in capsys.readouterr().out  # not downloaded again
    assert fetch.main(["verify", "--manifest", str(manifest), "--dir", str(out)]) == 0
    sd = fetch.load_state_dict(out / "inception.pt", _sha(root / "good.pt"))
    assert torch.equal(sd["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3))


def test_a_bad_hash_is_an_error_naming_the_file_and_leaves_nothing(server, tmp_path, capsys):
    url, root = server
    manifest = _manifest(tmp_path / "m.yaml", [
        {"name": "good.pt", "url": f"{url}/good.pt", "sha256": _sha(root / "good.pt")},
        {"name": "clip.pt", "url": f"{url}/tampered.pt", "sha256": _sha(root / "good.pt")}])
    out = tmp_path / "weights"
    assert fetch.main(["fetch", "--manifest", str(manifest), "--dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "clip.pt: sha256 mismatch" in err and "tampered.pt" in err and _sha(root / "tampered.pt") in err
    assert sorted(p.name for p in out.iterdir()) == ["good.pt"]  # no partial or bad file left


def test_verify_names_missing_and_modified_files(server, tmp_path, capsys):
    url, root = server
    manifest = _manifest(tmp_path / "m.yaml", [
        {"name": "a.pt", "url": f"{url}/good.pt", "sha256": _sha(root / "good.pt")},
        {"name": "b.pt", "url": f"{url}/good.pt", "sha256": _sha(root / "good.pt")}])
    out = tmp_path / "weights"
    fetch.fetch(fetch.read_manifest(manifest), out)
    (out / "a.pt").write_bytes(b"edited")
    (out / "b.pt").unlink()
    assert fetch.main(["verify", "--manifest", str(manifest), "--dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'a.pt'}: sha256" in err and f"{out / 'b.pt'}: missing" in err
    with pytest.raises(fetch.WeightsError, match="differs from the pinned"):
        fetch.load_state_dict(out / "a.pt", _sha(root / "good.pt"))


def test_unreachable_url_and_bad_manifest_are_clear_errors(tmp_path):
    bad = _manifest(tmp_path / "bad.yaml", [{"name": "x.pt", "url": "http://127.0.0.1:9/x", "sha256": "ab"}])
    with pytest.raises(fetch.WeightsError, match=r"files\[0\] \(x.pt\): sha256 must be 64"):
        fetch.read_manifest(bad)
    dead = _manifest(tmp_path / "dead.yaml", [{"name": "x.pt", "url": "http://127.0.0.1:9/x", "sha256": "a" * 64}])
    with pytest.raises(fetch.WeightsError, match="x.pt: download from http://127.0.0.1:9/x failed"):
        fetch.fetch(fetch.read_manifest(dead), tmp_path / "w", timeout_s=5)


def test_pickled_code_is_refused_by_weights_only_load(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": threading.Lock}, path)  # a pickled global that is not a tensor
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        fetch.load_state_dict(path)


def test_preference_models_are_off_by_default_and_error_clearly_when_enabled(tmp_path, smoke_params):
    assert smoke_params["score"]["preference_models"] == []
    assert preference.resolve([], tmp_path) == []
    with pytest.raises(FileNotFoundError, match=r"'pickscore' is enabled but its weights .*PickScore_v1 are missing"):
        preference.resolve(["pickscore"], tmp_path)
    with pytest.raises(ValueError, match="unknown model 'dalle-judge'.*hpsv2, imagereward, pickscore"):
        preference.resolve(["dalle-judge"], tmp_path)
    (tmp_path / "ImageReward.pt").write_bytes(b"x")
    with pytest.raises(NotImplementedError, match="no scorer is registered"):
        preference.resolve(["imagereward"], tmp_path)
