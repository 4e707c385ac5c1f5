"""The layers of divlab, lowest first: the one place the order is declared. A package may import its own
modules and packages of lower layers; never a package of a higher layer, nor a sibling in its own layer
(siblings stay independent). tests/test_layers.py checks every import, function-level ones included.
Plumbing is the top-level modules (errors, atomic, registry, plotting, preset_files, ...)."""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("plumbing",),
    ("tracking",),  # experiment trackers (TensorBoard, MLflow, W&B): what train, sweep and the CLI report to
    ("markov",),
    ("data",),  # the dataset format every task writes through
    ("tasks",),
    ("models",),
    ("train", "codeeval", "mix"),
    ("evaluate", "finetune", "evalsuite", "diversity"),
    ("experiments",),
    ("sweep",),
    ("report",),
    ("scaling",),  # scale ladders: laws fitted over sweeps' stores, drawn on report's pages
    ("cli",),
)


def package_of(module: str) -> str:
    """"divlab.report.page" -> "report"; top-level modules other than the CLI are "plumbing"."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and any(parts[1] in layer for layer in LAYERS[1:])):
        return parts[1]
    return "plumbing"


def layer_of(module: str) -> int:
    """The layer index of a divlab module ("divlab.report.page" -> 9)."""
    name = package_of(module)
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise ValueError(f"{module}: package {name!r} is in no layer of divlab.layers.LAYERS")


def may_import(importer: str, imported: str) -> bool:
    """Whether module `importer` may import module `imported` under the layer rule."""
    if imported == "divlab" or package_of(importer) == package_of(imported):
        return True
    return layer_of(imported) < layer_of(importer) or layer_of(imported) == 0
