//! MMX (Pentium II): placeholder, filled in below.
