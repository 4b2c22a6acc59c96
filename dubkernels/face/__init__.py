"""Face analysis on dlib: detection, 68 landmarks, head pose, masks and aligned crops."""
