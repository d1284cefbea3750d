//! 8042 keyboard controller, PS/2 keyboard and mouse.
