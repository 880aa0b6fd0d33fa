package sub

// line 3
