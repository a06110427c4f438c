"""The DINOv2 ViT network (facebookresearch/dinov2's DinoVisionTransformer at inference), plain torch.

Parameter names are the official checkpoints' (`dinov2_vitl14_pretrain.pth`: cls_token, pos_embed,
mask_token, patch_embed.proj, blocks.<i>.{norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1,
mlp.fc2, ls2.gamma}, norm), so an official file loads with strict=True and nothing comes from torch.hub.
No project imports: metrics/dinov2.py (FD-DINOv2) and metrics/weights.py (the smoke file) both use it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

PATCH = 14
OFFICIAL_GRID = 37  # 518 px / 14: the position grid of every official DINOv2 checkpoint


@dataclass(frozen=True)
class Arch:
    embed_dim: int
    depth: int
    num_heads: int
    official_file: str | None  # the facebookresearch file this arch loads


ARCHS = {
    "vits14": Arch(384, 12, 6, "dinov2_vits14_pretrain.pth"),
    "vitb14": Arch(768, 12, 12, "dinov2_vitb14_pretrain.pth"),
    "vitl14": Arch(1024, 24, 16, "dinov2_vitl14_pretrain.pth"),  # dgm-eval's default, FD-DINOv2's
    "tiny14": Arch(96, 2, 2, None),  # smoke only: same format, seeded random (weights.py)
}


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)  # DINOv2's Attention, no xformers
        return self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c))


class _Mlp(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _LayerScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.attn, self.ls1 = nn.LayerNorm(dim, eps=1e-6), _Attention(dim, heads), _LayerScale(dim)
        self.norm2, self.mlp, self.ls2 = nn.LayerNorm(dim, eps=1e-6), _Mlp(dim), _LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class _PatchEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoV2(nn.Module):
    """DINOv2's DinoVisionTransformer at inference (no registers, MLP FFN, block_chunks=0)."""

    def __init__(self, arch: Arch):
        super().__init__()
        d = arch.embed_dim
        self.patch_embed = _PatchEmbed(d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, OFFICIAL_GRID ** 2 + 1, d))
        self.blocks = nn.ModuleList(_Block(d, arch.num_heads) for _ in range(arch.depth))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.mask_token = nn.Parameter(torch.zeros(1, d))  # unused at inference; in the official file

    def interpolate_pos_encoding(self, x: torch.Tensor, w: int, h: int) -> torch.Tensor:
        """The official method of dgm-eval's time: bicubic by scale factor (grid + 0.1) / 37."""
        n = self.pos_embed.shape[1] - 1
        if x.shape[1] - 1 == n and w == h:
            return self.pos_embed
        pos = self.pos_embed.float()
        side, dim = int(math.sqrt(n)), x.shape[-1]
        w0, h0 = w // PATCH + 0.1, h // PATCH + 0.1
        patch = nn.functional.interpolate(pos[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2),
                                          scale_factor=(float(w0 / math.sqrt(n)), float(h0 / math.sqrt(n))),
                                          mode="bicubic")
        patch = patch.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat((pos[:, :1], patch), dim=1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]


def arch(name: str) -> Arch:
    if name not in ARCHS:
        raise ValueError(f"score.dinov2_arch: unknown DINOv2 arch {name!r} (known: {', '.join(ARCHS)})")
    return ARCHS[name]


def smoke_state_dict(seed: int = 0, name: str = "tiny14") -> dict[str, torch.Tensor]:
    """Seeded random weights in the official format, scaled so the CLS feature responds to the image.

    DINOv2's own init (layer scale 1e-5, cls 1e-6) would make every image's feature nearly the same
    vector; here layer scales are 1 and linear/conv weights N(0, 1/fan_in), so features move with the
    pixels (FD between faces and noise is large, tests/test_fd_dinov2.py)."""
    net = DinoV2(arch(name))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, nn.Linear | nn.Conv2d):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) / math.sqrt(fan_in))
                mod.bias.zero_()
        for p in (net.cls_token, net.pos_embed, net.mask_token):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return net.state_dict()
