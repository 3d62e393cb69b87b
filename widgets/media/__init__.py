"""What more than one panel package shows of video: the player, the nearby-camera view,
the stream health rows. Panel packages never import each other; they share this."""
