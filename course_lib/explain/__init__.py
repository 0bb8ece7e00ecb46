"""Interpretability (lesson 06): saliency (gradient, SmoothGrad, integrated gradients),
Grad-CAM and Grad-CAM++ from scratch and pytorch-grad-cam as their reference, attention
rollout, and the faithfulness tests (deletion curves, rank agreement, the pointing game)."""
