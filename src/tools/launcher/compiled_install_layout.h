// The installation layout meson compiles into the tools that look for their
// siblings (-DTAPSHIM_INSTALL_*: tapshim, tapshim-extcap), with defaults
// for a build that passes none.
#pragma once

#include "tools/launcher/library_locator.h"

#ifndef TAPSHIM_INSTALL_PREFIX
#define TAPSHIM_INSTALL_PREFIX ""
#endif
#ifndef TAPSHIM_INSTALL_BINDIR
#define TAPSHIM_INSTALL_BINDIR "bin"
#endif
#ifndef TAPSHIM_INSTALL_LIBDIR
#define TAPSHIM_INSTALL_LIBDIR "lib"
#endif

namespace tapshim::launcher {

inline InstallLayout compiledInstallLayout() {
  return InstallLayout{TAPSHIM_INSTALL_PREFIX, TAPSHIM_INSTALL_BINDIR, TAPSHIM_INSTALL_LIBDIR};
}

}  // namespace tapshim::launcher
