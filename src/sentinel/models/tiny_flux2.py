"""Tiny Flux.2 pipelines: the real `Flux2Pipeline` and `Flux2KleinPipeline` with seeded random weights.

The real text encoders (Mistral3ForConditionalGeneration for [dev], Qwen3ForCausalLM for [klein]) are
built tiny, with as many layers as the pipelines' default `text_encoder_out_layers` index (10/20/30 and
9/18/27), so the pipelines' own prompt encoding runs unchanged. Their hub tokenizers cannot load
offline; the CLIP BPE tokenizer from open_clip stands in, given a minimal chat template so that
`apply_chat_template` (which both pipelines call) works. Plumbing only: images mean nothing.
"""
from __future__ import annotations

import diffusers
import torch
from diffusers import AutoencoderKLFlux2, Flux2Transformer2DModel
from transformers import Mistral3Config, Mistral3ForConditionalGeneration, Qwen3Config, Qwen3ForCausalLM

from sentinel.models.tokenizer import clip_tokenizer

TEXT_HIDDEN = 16
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['content'] is string %}{{ m['role'] }}: {{ m['content'] }}\n"
    "{% else %}{% for c in m['content'] %}{{ m['role'] }}: {{ c['text'] }}\n{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
_TEXT = dict(vocab_size=49408, hidden_size=TEXT_HIDDEN, intermediate_size=2 * TEXT_HIDDEN, num_attention_heads=2,
             num_key_value_heads=1, head_dim=8, max_position_embeddings=512)


def _tokenizer():
    tok = clip_tokenizer(model_max_length=512)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _transformer(seed: int) -> Flux2Transformer2DModel:
    torch.manual_seed(seed)
    return Flux2Transformer2DModel(patch_size=1, in_channels=4, num_layers=1, num_single_layers=1,
                                   attention_head_dim=16, num_attention_heads=2, joint_attention_dim=3 * TEXT_HIDDEN,
                                   timestep_guidance_channels=32, axes_dims_rope=(4, 4, 4, 4))


def _vae(seed: int) -> AutoencoderKLFlux2:
    torch.manual_seed(seed)
    return AutoencoderKLFlux2(sample_size=32, in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                              up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(4,) * 4, layers_per_block=1,
                              latent_channels=1, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False)


def _scheduler(cls: str, kwargs: dict):
    sched = getattr(diffusers, cls, None)
    if sched is None:
        raise ValueError(f"scheduler.class: {cls!r} is not a diffusers scheduler")
    return sched(**kwargs)


def tiny_flux2(seed: int, scheduler_cls: str, scheduler_kwargs: dict, **pipeline_kwargs) -> diffusers.Flux2Pipeline:
    torch.manual_seed(seed + 1)
    text = Mistral3ForConditionalGeneration(Mistral3Config(
        text_config=dict(model_type="mistral", num_hidden_layers=30, **_TEXT), image_token_index=10,
        vision_config=dict(model_type="pixtral", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                           num_attention_heads=2, image_size=32, patch_size=16, head_dim=8)))
    return diffusers.Flux2Pipeline(scheduler=_scheduler(scheduler_cls, scheduler_kwargs), vae=_vae(seed + 2),
                                   text_encoder=text, tokenizer=_tokenizer(), transformer=_transformer(seed),
                                   **pipeline_kwargs)


def tiny_flux2_klein(seed: int, scheduler_cls: str, scheduler_kwargs: dict, **pipeline_kwargs) -> diffusers.Flux2KleinPipeline:
    torch.manual_seed(seed + 1)
    text = Qwen3ForCausalLM(Qwen3Config(num_hidden_layers=28, **_TEXT))
    return diffusers.Flux2KleinPipeline(scheduler=_scheduler(scheduler_cls, scheduler_kwargs), vae=_vae(seed + 2),
                                        text_encoder=text, tokenizer=_tokenizer(), transformer=_transformer(seed),
                                        **pipeline_kwargs)



