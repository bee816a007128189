#!/usr/bin/env python3
"""Writes hwloc XML built to cost the most within aml's limits, on stdout.

aml promises that loading any file costs time and memory bounded by its
size (docs/topology-xml.md). These shapes aim at what hwloc does in more
than linear time, to measure that promise:

  memattrs   16 MiB of memory-attribute values: 256 per attribute and node
             (aml's limit), each looked up by hwloc among the node's others.
  siblings   64000 CPU-less groups under one object: hwloc walks the
             siblings to append each child (aml refuses past 2048).
  wide       31 objects of 2048 CPU-less children each: the most aml takes.
  chains     1024 PUs, each under a chain of 25 groups hwloc merges away.

Usage: tools/hostile_xml.py SHAPE > file.xml
       /usr/bin/time bazel-bin/tools/aml_topo --xml file.xml > /dev/null
"""
import sys


def hwloc_set(bits):
    words = {}
    for b in bits:
        words[b // 32] = words.get(b // 32, 0) | (1 << (b % 32))
    top = max(words) if words else 0
    return ",".join("0x%08x" % words.get(w, 0) for w in range(top, -1, -1))


def sets(cpus, nodes):
    c, n = hwloc_set(cpus), hwloc_set(nodes)
    return (' cpuset="%s" complete_cpuset="%s" nodeset="%s" '
            'complete_nodeset="%s"' % (c, c, n, n))


class Doc:
    def __init__(self):
        self.parts = ['<topology version="2.0">\n']
        self.gp = 0

    def obj(self, kind, cpus, nodes, extra="", close=True, os=None):
        self.gp += 1
        index = ' os_index="%d"' % os if os is not None else ""
        self.parts.append('<object type="%s"%s%s gp_index="%d"%s%s>\n' % (
            kind, index, sets(cpus, nodes), self.gp, extra,
            "/" if close else ""))
        return self.gp

    def text(self):
        return "".join(self.parts)


def memattrs(limit=16 << 20):
    n = 256
    d = Doc()
    d.obj("Machine", range(n), range(n), close=False)
    nodes = []
    for p in range(n):
        d.obj("Package", [p], [p], close=False, os=p)
        nodes.append(d.obj("NUMANode", [p], [p], os=p))
        d.obj("PU", [p], [p], os=p)
        d.parts.append("</object>\n")
    d.parts.append("</object>\n")
    size = len(d.text())
    for name, flags in [("Bandwidth", 5), ("ReadBandwidth", 5),
                        ("WriteBandwidth", 5), ("Latency", 6),
                        ("ReadLatency", 6), ("WriteLatency", 6)]:
        d.parts.append('<memattr name="%s" flags="%d">\n' % (name, flags))
        for gp in nodes:
            for i in range(256):
                v = ('<memattr_value target_obj_type="NUMANode" '
                     'target_obj_gp_index="%d" value="%d" '
                     'initiator_cpuset="%s"/>\n' % (gp, 1000 + i,
                                                    hwloc_set([i])))
                if size + len(v) + 100 > limit:
                    d.parts.append("</memattr>\n</topology>\n")
                    return d.text()
                d.parts.append(v)
                size += len(v)
        d.parts.append("</memattr>\n")
    return d.text() + "</topology>\n"


def cpu_less(groups_per_parent, parents):
    npu = 1024
    d = Doc()
    d.obj("Machine", range(npu), [0], close=False)
    d.obj("NUMANode", range(npu), [0], os=0)
    d.obj("Package", range(npu), [0], close=False)
    for p in range(npu):
        d.obj("PU", [p], [0], os=p)
    d.parts.append("</object>\n")
    for _ in range(parents):
        if parents > 1:
            d.obj("Group", [], [0], close=False)
        for _ in range(groups_per_parent):
            d.obj("Group", [], [0])
        if parents > 1:
            d.parts.append("</object>\n")
    return d.text() + "</object>\n</topology>\n"


def chains(depth=25):
    npu = 1024
    d = Doc()
    d.obj("Machine", range(npu), [0], close=False)
    d.obj("NUMANode", range(npu), [0], os=0)
    for p in range(npu):
        for k in range(depth):
            d.obj("Group", [p], [0], ' kind="%d"' % k, close=False)
        d.obj("PU", [p], [0], os=p)
        d.parts.append("</object>\n" * depth)
    return d.text() + "</object>\n</topology>\n"


SHAPES = {
    "memattrs": memattrs,
    "siblings": lambda: cpu_less(64000, 1),
    "wide": lambda: cpu_less(2046, 31),
    "chains": chains,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SHAPES:
        sys.exit(__doc__)
    sys.stdout.write(SHAPES[sys.argv[1]]())
