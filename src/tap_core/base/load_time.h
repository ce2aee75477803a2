// Where the linker puts what every process runs or touches as the library
// loads and exits, tapping or not. A page touched for the first time costs
// a page fault, tens of microseconds in a VM, and a library preloaded
// everywhere pays it in every process (docs/performance.md, "Start-up").
#pragma once

// For the functions of start-up and exit (reading the configuration,
// looking for another copy, examining the executable). GNU ld gathers
// .text.startup at the front of .text, beside the library's _init, which
// the loader runs anyway: start-up faults in one window of code pages
// rather than one per page the linker happened to put a function on.
#define TAPSHIM_LOAD_TIME __attribute__((section(".text.startup")))

// For a zero-initialised table of some size (the key log's, standby's
// paths) that start-up does not touch. GNU ld puts .lbss after .bss: the
// small variables that start-up touches then share the page the loader
// writes anyway (where .data ends and .bss begins), instead of lying
// beyond the tables, on a page of their own; and so does the start of the
// start-up arena, which leads .lbss.
#define TAPSHIM_LARGE_TABLE __attribute__((section(".lbss")))
