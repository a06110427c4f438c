"""Try-on metrics against references and closed forms (sentinel.tryon; rubrics/tryon-metrics.md).

SSIM against scikit-image on the same pair; CIEDE2000 against Sharma, Wu & Dalal (2005)'s 34
published test pairs; masked preservation exactly zero where the result equals the person; LPIPS
against a closed form computed from torchvision's AlexNet directly; the texture statistic's closed
forms; set FID/KID against sentinel.metrics.fid; the pair-list hash check and the job CSV reader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentinel.errors import WorkloadError
from sentinel.tryon import garment, pairs, preservation, protocols
from sentinel.tryon import ssim as tryon_ssim
from sentinel.tryon.jobs import load_tryon_jobs

SIDE = 64

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Color Res. Appl. 30(1), Table 1:
# (L1, a1, b1), (L2, a2, b2), ΔE00 (kL = kC = kH = 1), published to 4 decimals.
SHARMA_2005 = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.fixture(scope="module")
def person() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), resized to 64 px."""
    from skimage.data import astronaut
    from skimage.transform import resize

    return (resize(astronaut(), (SIDE, SIDE), anti_aliasing=True) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    m = np.zeros((SIDE, SIDE), dtype=bool)
    m[30:60, 14:50] = True  # the garment region: the torso
    return m


def _noise(seed: int, shape=(SIDE, SIDE, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --- SSIM -------------------------------------------------------------------------------------

SSIM_TOLERANCE = 1e-9  # float64 on both sides; measured difference ~4e-16


@pytest.mark.parametrize("noise", [10, 60])
def test_ssim_equals_scikit_image_on_the_same_pair(person, noise):
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(noise)
    other = np.clip(person.astype(int) + rng.integers(-noise, noise + 1, person.shape), 0, 255).astype(np.uint8)
    ours = tryon_ssim.ssim(other, person)
    ref = structural_similarity(other / 255.0, person / 255.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0, channel_axis=-1)
    assert ours == pytest.approx(ref, abs=SSIM_TOLERANCE)
    assert 0.0 < ours < 1.0


def test_ssim_of_an_image_with_itself_is_one(person):
    assert tryon_ssim.ssim(person, person) == pytest.approx(1.0, abs=1e-12)


# --- CIEDE2000 --------------------------------------------------------------------------------

def test_ciede2000_reproduces_all_34_of_sharma_2005s_test_pairs():
    """Each pair, and both orders (ΔE00 is symmetric), to 1e-4 of the published 4-decimal value."""
    from sentinel.checks.colour import delta_e00

    got = np.array([delta_e00(a, b) for a, b, _ in SHARMA_2005])
    swapped = np.array([delta_e00(b, a) for a, b, _ in SHARMA_2005])
    want = np.array([e for _, _, e in SHARMA_2005])
    assert len(SHARMA_2005) == 34
    assert np.max(np.abs(got - want)) <= 1e-4, np.flatnonzero(np.abs(got - want) > 1e-4) + 1
    assert np.max(np.abs(swapped - want)) <= 1e-4


def _garment_photo(colour_rgb, stripes: bool = False) -> np.ndarray:
    img = np.full((SIDE, SIDE, 3), 255, dtype=np.uint8)
    img[12:52, 14:50] = colour_rgb
    if stripes:
        img[12:52:4, 14:50] = (20, 20, 20)
    return img


def test_garment_colour_is_zero_for_the_same_colour_and_large_for_another(person, mask):
    red = _garment_photo((190, 30, 40))
    result = person.copy()
    result[mask] = (190, 30, 40)
    assert garment.colour_delta_e00(result, mask, red) == pytest.approx(0.0, abs=1e-9)
    assert garment.colour_delta_e00(result, mask, _garment_photo((30, 40, 190))) > 30


# --- texture / print --------------------------------------------------------------------------

def test_texture_similarity_closed_forms(person, mask):
    striped = _garment_photo((190, 30, 40), stripes=True)
    flat = _garment_photo((190, 30, 40))
    worn = person.copy()
    worn[mask] = (190, 30, 40)
    worn_striped = worn.copy()
    worn_striped[30:60:4, 14:50] = (20, 20, 20)  # the same print on the torso
    assert garment.texture_similarity(worn, mask, flat) == pytest.approx(1.0, abs=1e-9)  # flat and flat
    assert garment.texture_similarity(worn, mask, striped) == pytest.approx(0.0, abs=1e-9)  # print lost
    assert garment.texture_similarity(worn_striped, mask, striped) > 0.8
    assert garment.texture_similarity(worn_striped, mask, striped) > garment.texture_similarity(
        worn_striped, mask, _garment_photo((190, 30, 40)) | _noise(3) // 4)


# --- preservation outside the mask ------------------------------------------------------------

def test_preservation_is_exact_for_a_result_equal_to_the_person_outside_the_mask(person, mask):
    result = person.copy()
    result[mask] = _noise(1)[mask]  # anything inside the garment region
    assert preservation.masked_mae(result, person, mask) == 0.0
    assert preservation.masked_ssim(result, person, mask) == pytest.approx(1.0, abs=1e-12)


def test_preservation_is_positive_when_one_pixel_outside_the_mask_changes(person, mask):
    result = person.copy()
    result[mask] = _noise(1)[mask]
    result[8, 8, 0] = person[8, 8, 0] ^ 0x20  # one channel of one face/background pixel, by 32 levels
    keep = int((~mask).sum())
    assert preservation.masked_mae(result, person, mask) == pytest.approx(32 / (3 * keep), rel=1e-12)
    assert preservation.masked_ssim(result, person, mask) < 1.0


# --- LPIPS from local files -------------------------------------------------------------------

@pytest.fixture(scope="module")
def lpips_files(tmp_path_factory):
    from sentinel.tryon import lpips

    return lpips.write_smoke_weights(tmp_path_factory.mktemp("lpips"))


def _lpips_closed_form(backbone_path, a: np.ndarray, b: np.ndarray) -> float:
    """LPIPS with every linear weight 1: sum over AlexNet's 5 ReLU taps of the spatial mean of
    ||f̂(a) - f̂(b)||² (f̂: channel-normalised), from torchvision's AlexNet directly."""
    import torch
    import torchvision

    net = torchvision.models.alexnet(weights=None).features.double().eval()
    state = torch.load(backbone_path, weights_only=True)
    net.load_state_dict({k.removeprefix("features."): v for k, v in state.items()})
    # LPIPS's published input scaling, as float32 constants (the network holds them so, then in float64)
    shift = torch.tensor([-0.030, -0.088, -0.188]).double()[None, :, None, None]
    scale = torch.tensor([0.458, 0.448, 0.450]).double()[None, :, None, None]
    total = 0.0
    with torch.no_grad():
        x, y = ((torch.from_numpy(i / 127.5 - 1.0).permute(2, 0, 1)[None] - shift) / scale for i in (a, b))
        for i, layer in enumerate(net):
            x, y = layer(x), layer(y)
            if i in (1, 4, 7, 9, 11):
                nx, ny = (t / torch.sqrt(1e-8 + (t * t).sum(1, keepdim=True)) for t in (x, y))
                total += float(((nx - ny) ** 2).sum(1).mean())
    return total


def test_lpips_from_local_files_matches_the_closed_form(lpips_files, tmp_path, person):
    import torch

    from sentinel.tryon import lpips

    ones = {f"lin{k}.model.1.weight": torch.ones(1, c, 1, 1) for k, c in enumerate(lpips.CHANNELS)}
    torch.save(ones, tmp_path / "ones.pt")
    backbone = lpips_files["backbone"][0]
    net = lpips.load_lpips(backbone, tmp_path / "ones.pt")
    other = _noise(5)
    assert lpips.lpips(net, other, person) == pytest.approx(_lpips_closed_form(backbone, other, person), rel=1e-9)
    assert lpips.lpips(net, person, person) == 0.0


def test_lpips_reads_the_published_linear_file_format_and_refuses_a_wrong_one(lpips_files, tmp_path, person):
    import torch
    import torchmetrics

    from sentinel.tryon import lpips

    published = Path(torchmetrics.__file__).parent / "functional/image/lpips_models/alex.pth"  # PerceptualSimilarity v0.1
    net = lpips.load_lpips(lpips_files["backbone"][0], published)
    assert lpips.lpips(net, _noise(6), person) > 0
    torch.save({"lin0.model.1.weight": torch.ones(1, 64, 1, 1)}, tmp_path / "short.pt")
    with pytest.raises(ValueError, match=r"short\.pt: missing 'lin1\.model\.1\.weight'"):
        lpips.load_lpips(lpips_files["backbone"][0], tmp_path / "short.pt")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        lpips.load_lpips(tmp_path / "absent.pt", published)


# --- protocols: per-job rows, CIs, set FID/KID ------------------------------------------------

def test_protocol_rows_and_cis_over_jobs(person, mask):
    red = _garment_photo((190, 30, 40))
    rows = {}
    for j in range(6):
        result = person.copy()
        result[mask] = (190 - 20 * j, 30, 40)
        rows[f"job-{j}"] = protocols.job_metrics(result, person, red, mask, protocol="paired")
    rows["no-mask"] = protocols.job_metrics(person, person, red, None, protocol="paired")
    out = protocols.summarise(rows, "paired", level=0.95)
    assert set(out) == set(protocols.JOB_METRICS)
    assert out["preserved_mae"]["value"] == 0.0 and out["preserved_mae"]["n"] == 6  # the mask-less job left n
    assert out["ssim"]["n"] == 7 and out["lpips"]["n"] == 0  # no LPIPS network given
    lo, hi = out["garment_delta_e00"]["ci"]
    assert lo <= out["garment_delta_e00"]["value"] <= hi and lo < hi
    assert "ssim" not in protocols.summarise(rows, "unpaired", level=0.95)


def test_set_distances_use_the_projects_fid_and_kid():
    from sentinel.metrics import fid

    rng = np.random.default_rng(7)
    gen, ref = rng.normal(size=(24, 16)), rng.normal(0.5, 1.0, size=(30, 16))
    out = protocols.set_distances(gen, ref, [f"g{i}" for i in range(24)], [f"r{i}" for i in range(30)],
                                  level=0.95, reps=50, seed=0)
    assert out["fid"]["value"] == pytest.approx(fid.fid_from_features(gen, ref), rel=1e-9)
    assert out["fid"]["ci"][0] <= out["fid"]["value"] <= out["fid"]["ci"][1]
    assert out["kid"]["n"] == 24 and out["kid"]["m_reference"] == 30


# --- pair lists and the job CSV ---------------------------------------------------------------

def test_pair_list_hash_check_fails_on_a_tampered_list_naming_the_file(tmp_path):
    lst = tmp_path / "smoke-paired.csv"
    lst.write_text("person,garment\n00001_00.png,00001_00.png\n00002_00.png,00002_00.png\n")
    entry = pairs.manifest_entry(lst, "paired", "smoke", "made in the test", tmp_path)
    pairs.write_manifest(tmp_path / "pairs.json", [entry])
    [verified] = pairs.verify_manifest(tmp_path / "pairs.json")
    assert verified.pairs[1] == ("00002_00.png", "00002_00.png") and verified.protocol == "paired"
    lst.write_text("person,garment\n00001_00.png,00001_00.png\n00002_00.png,00009_00.png\n")
    with pytest.raises(pairs.PairListError, match=rf"{lst}: sha256 .* differs"):
        pairs.verify_manifest(tmp_path / "pairs.json")


def test_job_csv_reads_a_good_file_and_refuses_a_bad_category_naming_file_and_line(tmp_path):
    good = tmp_path / "tryon.csv"
    good.write_text("id,person,garment,mask,category,seed\n"
                    "t-1,persons/a.png,garments/a.png,masks/a.png,upper,7\n"
                    "t-2,persons/b.png,garments/b.png,,dress,8\n")
    jobs = load_tryon_jobs(good)
    assert [(j.id, j.mask, j.category, j.seed) for j in jobs] == [("t-1", "masks/a.png", "upper", 7),
                                                                  ("t-2", None, "dress", 8)]
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text() + "t-3,persons/c.png,garments/c.png,,shoes,9\n")
    with pytest.raises(WorkloadError, match=rf"^{bad}:4: category: 'shoes' is not one of upper, lower, dress"):
        load_tryon_jobs(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text(good.read_text())
    with pytest.raises(WorkloadError, match=rf"^{missing}:2: person: 'persons/a.png' not found under"):
        load_tryon_jobs(missing, root=tmp_path)


def test_score_job_reads_the_jobs_png_files(tmp_path, person, mask):
    """The file path end to end: CSV with a root, PNG person/garment/mask, a result PNG."""
    from PIL import Image

    from sentinel.images import encode_png

    red = _garment_photo((190, 30, 40))
    result = person.copy()
    result[mask] = (190, 30, 40)
    for name, arr in {"person.png": person, "garment.png": red, "result.png": result,
                      "mask.png": np.repeat(mask[..., None] * np.uint8(255), 3, axis=2)}.items():
        (tmp_path / name).write_bytes(encode_png(Image.fromarray(arr)))
    (tmp_path / "jobs.csv").write_text("id,person,garment,mask,category,seed\nt-1,person.png,garment.png,mask.png,upper,0\n")
    [job] = load_tryon_jobs(tmp_path / "jobs.csv", root=tmp_path)
    row = protocols.score_job(job, tmp_path / "result.png", tmp_path, protocol="unpaired")
    assert row["preserved_mae"] == 0.0 and row["garment_delta_e00"] == pytest.approx(0.0, abs=1e-9)
    assert set(row) == {"garment_delta_e00", "garment_texture", "preserved_ssim", "preserved_mae"}
