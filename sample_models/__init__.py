"""Bundled sample models: a catalogue of one-rule cases and small real architectures."""

from sample_models.registry import Expected, Sample, get_sample, list_samples, onnx_path

__all__ = ["Expected", "Sample", "get_sample", "list_samples", "onnx_path"]
