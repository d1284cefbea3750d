//! 82077AA floppy disk controller.
