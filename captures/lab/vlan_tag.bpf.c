// SPDX-License-Identifier: GPL-2.0
// tc/eBPF 802.1Q tagging for the certflow lab (this kernel has no 8021q module).
// Attached with `tc filter add dev eth0 {egress|ingress} bpf da obj vlan_tag.bpf.o sec ...`
// in each host namespace: egress pushes tag VLAN_ID (IEEE 802.1Q, TPID 0x8100, PCP 0), ingress
// pops it again, so every frame on the bridge between the hosts carries a real tag.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef VLAN_ID
#define VLAN_ID 77
#endif

SEC("egress")
int vlan_push(struct __sk_buff *skb)
{
    if (skb->vlan_present)
        return TC_ACT_OK;
    if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), VLAN_ID) != 0)
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

SEC("ingress")
int vlan_pop(struct __sk_buff *skb)
{
    if (skb->vlan_present && skb->vlan_tci == VLAN_ID) {
        if (bpf_skb_vlan_pop(skb) != 0)
            return TC_ACT_SHOT;
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
