// Must not compile: a layer may include only its own and lower layers (see
// README, "Layers"). Built by the ctest layers.compare_includes_replicate.
#include "copier.h"
