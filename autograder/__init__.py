"""Autograded assignments for teaching neural networks with PyTorch."""
