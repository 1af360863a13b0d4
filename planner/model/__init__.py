"""Pure, frozen data shared by every stage: the policy (desired state), the observed state,
plans and findings. Nothing in here performs I/O or imports another wbplan package."""
