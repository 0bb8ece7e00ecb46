"""Visual attention (lesson 04): the spatial transformer (affine and thin-plate grids, bilinear
sampling), the small CNNs it is compared with, captioning with soft attention over a feature
grid, DETR-lite detection with learned queries, and ViT-lite."""
