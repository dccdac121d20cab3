// Must not compile: a layer may include only its own and lower layers (see
// README, "Layers"). Built by the ctest layers.reports_include_engine.
#include "compare.h"
