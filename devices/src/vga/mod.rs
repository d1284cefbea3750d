//! VGA: sequencer, CRTC, graphics and attribute controllers, DAC, video memory.
