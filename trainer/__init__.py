"""BehaveGPT on PyTorch: the TypeScript model, data pipeline and objectives, trained with
torch.distributed (DDP), writing the model folders the browser app loads.

Every module mirrors a TypeScript module (docs/TS-PYTHON-MAP.md); the parity tests in
trainer/tests keep the two from drifting.
"""
