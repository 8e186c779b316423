"""What every gate learns about the bottle's network from its environment."""

# The internal network's subnet (CIDR): the only peers a gate serves, and where git daemon listens.
SUBNET_VAR = "BOTTLE_AGENT_SUBNET"
