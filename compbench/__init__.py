"""What every package of the compbench distribution shares (stdlib only): the name registry."""
