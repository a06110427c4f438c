"""A tiny WanPipeline: diffusers' real Wan classes with seeded-random weights (plumbing only).

Components and shapes follow diffusers' own Wan fast test (tests/pipelines/wan/test_wan.py):
`WanTransformer3DModel` (2 layers, 2 heads of 12, patch (1, 2, 2)), `AutoencoderKLWan` (base_dim 3,
z_dim 16, temporal downsampling x4, spatial x8: the Wan 2.1 VAE layout), and a `UMT5EncoderModel` from
transformers built from a tiny `UMT5Config`. The hub tokenizer (google/umt5-xxl) cannot load offline
(transformers may silently build an empty one), so the CLIP BPE tokenizer that ships inside open_clip
stands in, as for the tiny image models (sentinel.models.tokenizer); the text encoder's vocabulary is
sized to it. Each component is built right after `torch.manual_seed(init_seed + k)` and put in eval
mode (UMT5's dropout would otherwise make every call differ), so one config gives byte-identical frames.
CPU float32. Its clips mean nothing; it exercises the video stages end to end.
torch, diffusers and transformers are imported inside the builders (sentinel.video is not a compute
package: importing it stays light, tests/unit/test_layering.py).
"""
from __future__ import annotations

TEXT_DIM = 32
MAX_SEQUENCE_LENGTH = 512  # WanPipeline's default max_sequence_length; the tokenizer pads to it
CLIP_VOCAB_SIZE, CLIP_EOS_ID = 49408, 49407


def tiny_components(seed: int) -> dict:
    import torch
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from sentinel.models.tokenizer import clip_tokenizer

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                        in_channels=16, out_channels=16, text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        rope_max_seq_len=32)
    torch.manual_seed(seed + 1)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=CLIP_VOCAB_SIZE, d_model=TEXT_DIM, d_kv=8, d_ff=2 * TEXT_DIM, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=CLIP_EOS_ID, eos_token_id=CLIP_EOS_ID,
        decoder_start_token_id=0))
    torch.manual_seed(seed + 2)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    for module in (transformer, text_encoder, vae):
        module.eval()
    return {"transformer": transformer, "text_encoder": text_encoder, "vae": vae,
            "tokenizer": clip_tokenizer(model_max_length=MAX_SEQUENCE_LENGTH)}


def tiny_wan(seed: int, scheduler):
    """diffusers.WanPipeline from `tiny_components(seed)` and an already-built scheduler."""
    from diffusers import WanPipeline

    return WanPipeline(scheduler=scheduler, **tiny_components(seed))
