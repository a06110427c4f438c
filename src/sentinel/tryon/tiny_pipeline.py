"""The tiny try-on pipeline: diffusers' real StableDiffusionInpaintPipeline with seeded random weights.

The components are those of the project's tiny image models (sentinel.models.tiny: the same tiny
VAE, the same two-layer CLIP text encoder and the offline CLIP tokenizer), except the UNet, which
takes diffusers' inpainting input of 9 channels: 4 noisy latents + 1 downsampled mask + 4 latents
of the masked person image (shapes as in diffusers' own StableDiffusionInpaintPipeline fast tests).
Each component is built right after `torch.manual_seed(init_seed + k)` (k = 0 UNet, 1 text encoder,
2 VAE, as tiny.py does), so the same `init_seed` builds the same bytes. A plumbing model: its
results and quality numbers mean nothing.
"""
from __future__ import annotations

import diffusers
import torch
from diffusers import UNet2DConditionModel
from transformers import CLIPTextModel

from sentinel.models.tiny import _scheduler, _text_config, _vae
from sentinel.models.tokenizer import clip_tokenizer

INPAINT_IN_CHANNELS = 9  # latents (4) + mask (1) + masked-image latents (4)


def tiny_inpaint(seed: int, scheduler_cls: str, scheduler_kwargs: dict) -> diffusers.StableDiffusionInpaintPipeline:
    """StableDiffusionInpaintPipeline with tiny seeded random components (latent side = image side / 2)."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32,
                                in_channels=INPAINT_IN_CHANNELS, out_channels=4, cross_attention_dim=32,
                                norm_num_groups=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    torch.manual_seed(seed + 1)
    text_encoder = CLIPTextModel(_text_config())
    return diffusers.StableDiffusionInpaintPipeline(
        vae=_vae(seed + 2), text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
        scheduler=_scheduler(scheduler_cls, scheduler_kwargs), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)


BUILDERS = {"StableDiffusionInpaintPipeline": tiny_inpaint}
