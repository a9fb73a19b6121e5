"""Exporting a trained model for use outside the kit: ONNX (``vreid export``)."""
from vreid_lite.export.embedding_net import EmbeddingNet
from vreid_lite.export.onnx import DEFAULT_OPSET, ExportError, export_onnx
from vreid_lite.export.onnx_runtime import (check_export, onnx_features, onnx_outputs,
                                            onnx_session, read_images)

__all__ = ["DEFAULT_OPSET", "EmbeddingNet", "ExportError", "check_export", "export_onnx",
           "onnx_features", "onnx_outputs", "onnx_session", "read_images"]
