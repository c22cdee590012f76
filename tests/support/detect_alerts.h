// A sample alert of the loss detector (src/detect) for the notifier tests.
#pragma once

#include "detect/alert.h"
#include "detect/notifier.h"

namespace chaperone::test {

// Firing, critical: 42 messages of topic "orders" lost from tier producer to
// tier regional in dc1, over 3 windows from 2023-11-14T21:50:00Z to
// 22:10:00Z; it fired at 2023-11-14T22:13:20Z; it has a dashboard link.
detect::Alert SampleLossAlert();

// Delivers SampleLossAlert() alone.
Status DeliverSample(detect::Notifier& notifier);

}  // namespace chaperone::test
