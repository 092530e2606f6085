"""``python -m graphlink.neo4j``: the command-line entry of :mod:`graphlink.neo4j`."""

from graphlink.neo4j.bolt import _node_total
from graphlink.neo4j.browser import grass_json, render_guide
from graphlink.neo4j.offline import finish_import, write_import

if __name__ == "__main__":  # python -m graphlink.neo4j guide|grass|write-import|finish-import
    import sys

    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "guide":
        sys.stdout.write(render_guide())
    elif what == "grass":
        sys.stdout.write(grass_json() + "\n")
    elif what == "write-import" and len(sys.argv) == 5:  # DATASET STATE FOLDER
        from graphlink.api import open_state

        found = write_import(open_state(sys.argv[3], sys.argv[2]), sys.argv[4])
        print(f"{sum(found['nodes'].values())} nodes, {sum(found['relationships'].values())} "
              f"relationships -> {sys.argv[4]}", file=sys.stderr)
    elif what == "finish-import" and len(sys.argv) == 3:  # FOLDER
        found = finish_import(sys.argv[2])
        print(f"import complete: {_node_total(found['nodes'])} nodes, "
              f"{sum(found['relationships'].values())} relationships", file=sys.stderr)
    else:
        sys.exit("usage: python -m graphlink.neo4j guide|grass|write-import DATASET STATE "
                 "FOLDER|finish-import FOLDER")
