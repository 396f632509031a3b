"""A small audio-visual transformer: joint attention over picture and sound tokens.

``AVTransformerForVideoClassification`` (HF format, ``model_type = "wherewhen_av"``) classifies
a clip from its frames and its sound together:

* **visual tokens**: every frame is cut into ``patch_size`` squares (a per-frame linear patch
  embedding, as in TimeSformer), ``T x h x w`` tokens, frame-major (``t * h * w + i * w + j``),
  with factorized space and time position embeddings;
* **audio tokens**: the mono waveform (``audio.sample_rate``, ``audio.duration`` seconds) becomes
  a log-mel spectrogram (``torch.stft`` with a Hann window, HTK mel filters from
  ``transformers.audio_utils.mel_filter_bank``), pooled along time into ``audio.tokens`` equal
  parts of ``FRAMES_PER_TOKEN`` spectrogram columns each, one token per part;
* one **class token**; every layer is pre-norm joint self-attention over
  ``[class, visual..., audio...]`` (so the class token can attend to any picture cell and any
  moment of sound in the same softmax) followed by an MLP.

Attention runs through PyTorch's fused kernel (``scaled_dot_product_attention``); the engine
computes the class token's attention from the queries and keys it hooks on ``qkv``. With
``eager`` set (:func:`workers.models.fast_attention.eager_attention`) each layer multiplies out
its probabilities, the output of its ``attn_drop`` module (dropout is the identity in eval
mode), where hooks that need the whole tensors read them. STAA reads *where* and *when it is
seen* from the class token's attention to visual tokens and *when it is heard* from its
attention to audio tokens, all from one forward pass.

The mel filters and the window are computed from the config, not stored, so the safetensors file
holds only learned weights.
"""

from __future__ import annotations

import math

import torch
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import ImageClassifierOutput

from workers.models.spec import AudioSpec

MODEL_TYPE = "wherewhen_av"
FRAMES_PER_TOKEN = 4  # spectrogram columns pooled into each audio token
LOG_EPS = 1e-6


@strict
class AVTransformerConfig(PreTrainedConfig):
    """Configuration of :class:`AVTransformerForVideoClassification`.

    ``audio`` is an :class:`~workers.models.spec.AudioSpec` as a dict (``AudioSpec.to_dict``).
    """

    model_type = MODEL_TYPE

    image_size: int = 64
    patch_size: int = 16
    num_channels: int = 3
    num_frames: int = 8
    hidden_size: int = 96
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    intermediate_size: int = 384
    hidden_dropout_prob: float | int = 0.0
    attention_probs_dropout_prob: float | int = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-6
    audio: dict | None = None

    def audio_spec(self) -> AudioSpec:
        return AudioSpec.from_dict(self.audio) if self.audio else AudioSpec()


class LogMel(nn.Module):
    """Waveform ``(B, S)`` -> log-mel features ``(B, n_mels, frames)`` (no learned weights)."""

    def __init__(self, spec: AudioSpec) -> None:
        super().__init__()
        self.spec = spec
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _constants(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            from transformers.audio_utils import mel_filter_bank

            s = self.spec
            mel = mel_filter_bank(
                num_frequency_bins=s.n_fft // 2 + 1,
                num_mel_filters=s.n_mels,
                min_frequency=20.0,
                max_frequency=s.sample_rate / 2,
                sampling_rate=s.sample_rate,
                mel_scale="htk",
            )
            window = torch.hann_window(s.n_fft, periodic=True, device=device)
            self._cache[key] = (torch.tensor(mel, dtype=torch.float32, device=device), window)
        return self._cache[key]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        mel, window = self._constants(audio.device)
        stft = torch.stft(
            audio.float(),
            n_fft=self.spec.n_fft,
            hop_length=self.spec.hop_length,
            window=window,
            center=True,
            return_complex=True,
        )
        power = stft.real.square() + stft.imag.square()  # (B, freq, frames)
        return torch.log(torch.einsum("bft,fm->bmt", power, mel) + LOG_EPS)


class AVAttention(nn.Module):
    """Multi-head self-attention: the fused kernel, or (``eager``) the probabilities multiplied
    out and exposed through ``attn_drop``."""

    def __init__(self, config: AVTransformerConfig) -> None:
        super().__init__()
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(
                f"hidden_size {config.hidden_size} is not a multiple of num_attention_heads "
                f"{config.num_attention_heads}"
            )
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.attn_drop = nn.Dropout(config.attention_probs_dropout_prob)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.eager = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if not self.eager:
            dropout = self.attn_drop.p if self.training else 0.0
            out = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
            return self.proj(out.transpose(1, 2).reshape(b, n, d))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        probs = self.attn_drop(scores.softmax(dim=-1))  # (B, heads, N, N): hooks read this
        return self.proj((probs @ v).transpose(1, 2).reshape(b, n, d))


class AVLayer(nn.Module):
    def __init__(self, config: AVTransformerConfig) -> None:
        super().__init__()
        eps = config.layer_norm_eps
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=eps)
        self.attention = AVAttention(config)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=eps)
        self.mlp = nn.Sequential(
            nn.Linear(config.hidden_size, config.intermediate_size),
            nn.GELU(),
            nn.Linear(config.intermediate_size, config.hidden_size),
            nn.Dropout(config.hidden_dropout_prob),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AVEncoder(nn.Module):
    def __init__(self, config: AVTransformerConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(AVLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class AVTransformerPreTrainedModel(PreTrainedModel):
    config: AVTransformerConfig
    config_class = AVTransformerConfig
    base_model_prefix = "av"
    main_input_name = "pixel_values"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.trunc_normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, AVTransformerForVideoClassification):
            for p in (
                module.cls_token,
                module.space_embeddings,
                module.time_embeddings,
                module.audio_embeddings,
                module.modality_embeddings,
            ):
                nn.init.trunc_normal_(p, std=std)


class AVTransformerForVideoClassification(AVTransformerPreTrainedModel):
    """Joint-attention audio-visual classifier; ``forward(pixel_values, audio_values)``.

    ``pixel_values``: ``(B, T, 3, S, S)`` normalized frames; ``audio_values``: ``(B, samples)``
    mono waveform in [-1, 1], ``audio.num_samples`` long. Returns ``logits`` ``(B, labels)``.
    """

    def __init__(self, config: AVTransformerConfig) -> None:
        super().__init__(config)
        d = config.hidden_size
        if config.image_size % config.patch_size:
            raise ValueError(
                f"image_size {config.image_size} is not a multiple of patch_size "
                f"{config.patch_size}"
            )
        side = config.image_size // config.patch_size
        self.num_patches = side * side
        spec = config.audio_spec()
        self.audio_tokens = spec.tokens
        self.patch_embed = nn.Conv2d(
            config.num_channels, d, kernel_size=config.patch_size, stride=config.patch_size
        )
        self.log_mel = LogMel(spec)
        self.audio_embed = nn.Linear(spec.n_mels * FRAMES_PER_TOKEN, d)
        self.audio_norm = nn.LayerNorm(spec.n_mels * FRAMES_PER_TOKEN, eps=config.layer_norm_eps)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.space_embeddings = nn.Parameter(torch.zeros(1, self.num_patches, d))
        self.time_embeddings = nn.Parameter(torch.zeros(1, config.num_frames, d))
        self.audio_embeddings = nn.Parameter(torch.zeros(1, spec.tokens, d))
        self.modality_embeddings = nn.Parameter(torch.zeros(2, d))
        self.encoder = AVEncoder(config)
        self.norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.classifier = nn.Linear(d, config.num_labels)
        self.post_init()

    def visual_tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        b, t = pixel_values.shape[:2]
        x = self.patch_embed(pixel_values.flatten(0, 1))  # (B*T, D, h, w)
        x = x.flatten(2).transpose(1, 2).reshape(b, t, self.num_patches, -1)
        x = x + self.space_embeddings[:, None] + self.time_embeddings[:, :t, None]
        return x.reshape(b, t * self.num_patches, -1) + self.modality_embeddings[0]

    def audio_features(self, audio_values: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` -> ``(B, tokens, n_mels * FRAMES_PER_TOKEN)`` pooled log-mels."""
        mel = self.log_mel(audio_values)  # (B, n_mels, frames)
        pooled = nn.functional.adaptive_avg_pool1d(mel, self.audio_tokens * FRAMES_PER_TOKEN)
        b, m, _ = pooled.shape
        pooled = pooled.reshape(b, m, self.audio_tokens, FRAMES_PER_TOKEN)
        return pooled.permute(0, 2, 1, 3).reshape(b, self.audio_tokens, m * FRAMES_PER_TOKEN)

    def audio_tokens_of(self, audio_values: torch.Tensor) -> torch.Tensor:
        a = self.audio_embed(self.audio_norm(self.audio_features(audio_values)))
        return a + self.audio_embeddings + self.modality_embeddings[1]

    def forward(
        self,
        pixel_values: torch.Tensor,
        audio_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: object,
    ) -> ImageClassifierOutput:
        if audio_values is None:
            raise ValueError(
                "this is an audio-visual model: forward needs audio_values (B, samples) as well "
                "as pixel_values"
            )
        if audio_values.shape[0] != pixel_values.shape[0]:
            raise ValueError(
                f"{pixel_values.shape[0]} clips of frames but {audio_values.shape[0]} of audio"
            )
        v = self.visual_tokens(pixel_values)
        a = self.audio_tokens_of(audio_values)
        cls = self.cls_token.expand(v.shape[0], -1, -1)
        x = self.encoder(torch.cat([cls, v, a], dim=1))
        logits = self.classifier(self.norm(x[:, 0]))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return ImageClassifierOutput(loss=loss, logits=logits)
