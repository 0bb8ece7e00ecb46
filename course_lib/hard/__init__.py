"""Hard attention and REINFORCE (lesson 05): the policy-gradient estimator with its baselines,
soft vs hard attention over windows, the glimpse sensor, the recurrent attention model, the
policy-training loop and the small seeded experiments on bandits and Gaussian targets."""
