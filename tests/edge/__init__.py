"""The gateway's HTTP edge as browsers and other clients meet it, one file per module of gateway/edge/."""
