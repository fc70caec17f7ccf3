"""実態把握: who is being left behind — the working list, coverage per district, and their CSV
exports."""
