"""Pictures, shared by every lesson: heatmaps with token labels, image overlays and boxes,
attention per layer and head, token graphs, glimpse plots, and every interactive explorer."""
