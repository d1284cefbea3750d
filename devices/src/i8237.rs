//! 8237A DMA controller pair with page registers.
