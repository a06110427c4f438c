"""Tiny pipelines: the real diffusers pipeline classes with seeded random weights.

Shapes follow diffusers' own fast tests (tests/pipelines/*/test_*.py). Every weight comes from
`torch.manual_seed(init_seed)` before each component is built, so the same config builds the same
bytes. These are plumbing models: their images and quality numbers mean nothing.
"""
from __future__ import annotations

import diffusers
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from sentinel.models.tokenizer import clip_tokenizer

CLIP_VOCAB = dict(vocab_size=49408, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
                  max_position_embeddings=77)


def _text_config(hidden: int = 32) -> CLIPTextConfig:
    return CLIPTextConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_attention_heads=4,
                          num_hidden_layers=2, projection_dim=hidden, layer_norm_eps=1e-5,
                          hidden_act="gelu", **CLIP_VOCAB)


def _vae(seed: int) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         norm_num_groups=4, sample_size=64)


def _scheduler(cls: str, kwargs: dict):
    if not hasattr(diffusers, cls):
        raise ValueError(f"scheduler.class: {cls!r} is not a diffusers scheduler")
    return getattr(diffusers, cls)(**kwargs)


def tiny_sd(seed: int, scheduler_cls: str, scheduler_kwargs: dict, **pipeline_kwargs) -> diffusers.StableDiffusionPipeline:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32,
                                in_channels=4, out_channels=4, cross_attention_dim=32, norm_num_groups=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    torch.manual_seed(seed + 1)
    text_encoder = CLIPTextModel(_text_config())
    return diffusers.StableDiffusionPipeline(
        vae=_vae(seed + 2), text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
        scheduler=_scheduler(scheduler_cls, scheduler_kwargs), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False, **pipeline_kwargs)


def tiny_sdxl(seed: int, scheduler_cls: str, scheduler_kwargs: dict, **pipeline_kwargs) -> diffusers.StableDiffusionXLPipeline:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32,
                                in_channels=4, out_channels=4, attention_head_dim=(2, 4),
                                use_linear_projection=True, addition_embed_type="text_time",
                                addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
                                projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64,
                                norm_num_groups=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    torch.manual_seed(seed + 1)
    text_encoder = CLIPTextModel(_text_config())
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(_text_config())
    return diffusers.StableDiffusionXLPipeline(
        vae=_vae(seed + 2), text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        tokenizer=clip_tokenizer(), tokenizer_2=clip_tokenizer(), unet=unet,
        scheduler=_scheduler(scheduler_cls, scheduler_kwargs), **{"force_zeros_for_empty_prompt": True, **pipeline_kwargs})


from sentinel.models.tiny_flux2 import tiny_flux2, tiny_flux2_klein  # noqa: E402

BUILDERS = {"StableDiffusionPipeline": tiny_sd, "StableDiffusionXLPipeline": tiny_sdxl,
            "Flux2Pipeline": tiny_flux2, "Flux2KleinPipeline": tiny_flux2_klein}
