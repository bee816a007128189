/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator's page table: which emulated device holds each page.
 *
 * Mappings are the nodes of an AVL tree ordered by address, each with a
 * label per page, so finding the device of an address is a descent of the
 * tree plus an index, and mapping, unmapping or splitting one is O(log n)
 * in the number of mappings: a program that keeps 10^5 maps live and
 * replaces them pays what it pays with ten (a sorted array paid a move of
 * the whole table's tail per update). Scanning the pages of one mapping
 * (copies, moves) is sequential. Unmapping part of a mapping splits it, as
 * munmap splits a VMA. A mapping stays at its address while it lives:
 * callers hold pointers to it across other mappings' updates.
 */
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>

#include "emulator/emulator_internal.h"

struct emu_pagetable_node {
	/* First: the node of a mapping is at the mapping's address. */
	struct emu_mapping mapping;
	struct emu_pagetable_node *left;
	struct emu_pagetable_node *right;
	int height;
};

static struct emu_pagetable_node *pagetable_node_of(struct emu_mapping *m)
{
	return (struct emu_pagetable_node *)m;
}

static uintptr_t pagetable_end(const struct emu_mapping *m, size_t page_size)
{
	return m->start + m->npages * page_size;
}

struct emu_mapping *emu_pagetable_next(const struct emu_pagetable *table,
                                       uintptr_t addr)
{
	/* Mappings never overlap, so their ends are in the order of their
	 * starts: the first ending above addr is found in one descent. */
	size_t page_size = aml_page_size();
	struct emu_pagetable_node *n = table->root, *found = NULL;
	while (n != NULL) {
		if (pagetable_end(&n->mapping, page_size) <= addr) {
			n = n->right;
		} else {
			found = n;
			n = n->left;
		}
	}
	return found != NULL ? &found->mapping : NULL;
}

struct emu_mapping *emu_pagetable_after(const struct emu_pagetable *table,
                                        const struct emu_mapping *map)
{
	return emu_pagetable_next(table, pagetable_end(map, aml_page_size()));
}

struct emu_mapping *emu_pagetable_find(const struct emu_pagetable *table,
                                       uintptr_t addr)
{
	struct emu_mapping *m = emu_pagetable_next(table, addr);
	return m != NULL && m->start <= addr ? m : NULL;
}

/* ---- Balancing (AVL) ---- */

static int pagetable_height(const struct emu_pagetable_node *n)
{
	return n != NULL ? n->height : 0;
}

static void pagetable_update(struct emu_pagetable_node *n)
{
	int l = pagetable_height(n->left), r = pagetable_height(n->right);
	n->height = 1 + (l > r ? l : r);
}

static struct emu_pagetable_node *
pagetable_rotate_right(struct emu_pagetable_node *n)
{
	struct emu_pagetable_node *l = n->left;
	n->left = l->right;
	l->right = n;
	pagetable_update(n);
	pagetable_update(l);
	return l;
}

static struct emu_pagetable_node *
pagetable_rotate_left(struct emu_pagetable_node *n)
{
	struct emu_pagetable_node *r = n->right;
	n->right = r->left;
	r->left = n;
	pagetable_update(n);
	pagetable_update(r);
	return r;
}

/* n with its subtrees balanced and heights at most one apart, returned as
 * the subtree's new root. */
static struct emu_pagetable_node *
pagetable_balance(struct emu_pagetable_node *n)
{
	pagetable_update(n);
	int skew = pagetable_height(n->left) - pagetable_height(n->right);
	if (skew > 1) {
		if (pagetable_height(n->left->left) <
		    pagetable_height(n->left->right))
			n->left = pagetable_rotate_left(n->left);
		return pagetable_rotate_right(n);
	}
	if (skew < -1) {
		if (pagetable_height(n->right->right) <
		    pagetable_height(n->right->left))
			n->right = pagetable_rotate_right(n->right);
		return pagetable_rotate_left(n);
	}
	return n;
}

static struct emu_pagetable_node *
pagetable_insert_node(struct emu_pagetable_node *root,
                      struct emu_pagetable_node *node)
{
	if (root == NULL)
		return node;
	struct emu_pagetable_node **child =
	        node->mapping.start < root->mapping.start ? &root->left
	                                                  : &root->right;
	int height = pagetable_height(*child);
	*child = pagetable_insert_node(*child, node);
	/* A subtree as high as before changes nothing above it: the nodes
	 * above (and their other children, away in memory at 10^5 nodes)
	 * are not read again. */
	if (pagetable_height(*child) == height)
		return root;
	return pagetable_balance(root);
}

/* root without its leftmost node, which goes to *min. */
static struct emu_pagetable_node *
pagetable_remove_min(struct emu_pagetable_node *root,
                     struct emu_pagetable_node **min)
{
	if (root->left == NULL) {
		*min = root;
		return root->right;
	}
	int height = root->left->height;
	root->left = pagetable_remove_min(root->left, min);
	if (pagetable_height(root->left) == height)
		return root;
	return pagetable_balance(root);
}

/* root without node (which must be in it). Nodes are relinked, never
 * copied: every other mapping stays at its address. */
static struct emu_pagetable_node *
pagetable_remove_node(struct emu_pagetable_node *root,
                      const struct emu_pagetable_node *node)
{
	if (node->mapping.start != root->mapping.start) {
		struct emu_pagetable_node **child =
		        node->mapping.start < root->mapping.start
		                ? &root->left
		                : &root->right;
		int height = (*child)->height;
		*child = pagetable_remove_node(*child, node);
		if (pagetable_height(*child) == height)
			return root;
		return pagetable_balance(root);
	}
	if (root->left == NULL)
		return root->right;
	if (root->right == NULL)
		return root->left;
	struct emu_pagetable_node *min = NULL;
	struct emu_pagetable_node *right =
	        pagetable_remove_min(root->right, &min);
	min->left = root->left;
	min->right = right;
	return pagetable_balance(min);
}

/* The height of n's subtree if every height recorded in it is right and
 * every skew is at most one, else -1. */
static int pagetable_check_node(const struct emu_pagetable_node *n)
{
	if (n == NULL)
		return 0;
	int l = pagetable_check_node(n->left);
	int r = pagetable_check_node(n->right);
	if (l < 0 || r < 0 || l - r > 1 || r - l > 1)
		return -1;
	int height = 1 + (l > r ? l : r);
	return n->height == height ? height : -1;
}

int emu_pagetable_check(const struct emu_pagetable *table)
{
	return pagetable_check_node(table->root);
}

/* ---- Updates ---- */

/* Recount a piece's unplaced pages: a cut splits them. */
static void pagetable_recount(struct emu_mapping *m)
{
	m->unplaced = 0;
	for (size_t i = 0; i < m->npages; i++)
		m->unplaced += !emu_label_placed(m->labels[i]);
	emu_mapping_update_uniform(m);
}

void emu_mapping_update_uniform(struct emu_mapping *m)
{
	m->uniform =
	        m->npages > 0 && m->unplaced == 0 ? m->labels[0] : EMU_MIXED;
	for (size_t i = 1; i < m->npages && m->uniform != EMU_MIXED; i++) {
		if (m->labels[i] != m->labels[0])
			m->uniform = EMU_MIXED;
	}
}

static struct emu_pagetable_node *pagetable_node_new(void)
{
	return calloc(1, sizeof(struct emu_pagetable_node));
}

int emu_pagetable_insert(struct emu_pagetable *table,
                         const struct emu_mapping *mapping)
{
	struct emu_pagetable_node *node = pagetable_node_new();
	if (node == NULL)
		return AML_ENOMEM;
	node->mapping = *mapping;
	node->height = 1;
	table->root = pagetable_insert_node(table->root, node);
	table->count++;
	return 0;
}

int emu_pagetable_cut(struct emu_pagetable *table,
                      struct emu_mapping *m,
                      size_t first,
                      size_t npages,
                      int (*release)(void *arg),
                      void *arg)
{
	size_t page = aml_page_size();
	size_t right_pages = m->npages - first - npages;
	uint8_t *labels = NULL;
	struct emu_pagetable_node *right = NULL;
	if (first > 0 && right_pages > 0) {
		labels = malloc(right_pages);
		right = pagetable_node_new();
		if (labels == NULL || right == NULL) {
			free(labels);
			free(right);
			return AML_ENOMEM;
		}
	}
	int err = release(arg);
	if (err != 0) {
		free(labels);
		free(right);
		return err;
	}
	if (first > 0 && right_pages > 0) {
		/* Both sides stay: the right one becomes a new mapping. */
		memcpy(labels, m->labels + first + npages, right_pages);
		right->mapping = *m;
		right->mapping.start = m->start + (first + npages) * page;
		right->mapping.pgoff = m->pgoff + first + npages;
		right->mapping.npages = right_pages;
		right->mapping.labels = labels;
		right->height = 1;
		m->npages = first;
		table->root = pagetable_insert_node(table->root, right);
		table->count++;
		pagetable_recount(&right->mapping);
	} else if (first > 0) {
		m->npages = first;
	} else if (right_pages > 0) {
		/* The start moves within the mapping's own range, which no
		 * other mapping overlaps: the tree's order holds. */
		memmove(m->labels, m->labels + npages, right_pages);
		m->start += npages * page;
		m->pgoff += npages;
		m->npages = right_pages;
	} else {
		struct emu_pagetable_node *node = pagetable_node_of(m);
		table->root = pagetable_remove_node(table->root, node);
		table->count--;
		free(m->labels);
		free(node);
		return 0;
	}
	/* A piece of a mixed mapping may be uniform now. */
	pagetable_recount(m);
	return 0;
}

static void pagetable_free(struct emu_pagetable_node *n)
{
	while (n != NULL) {
		pagetable_free(n->left);
		struct emu_pagetable_node *right = n->right;
		free(n->mapping.labels);
		free(n);
		n = right;
	}
}

void emu_pagetable_fini(struct emu_pagetable *table)
{
	pagetable_free(table->root);
	*table = (struct emu_pagetable){.root = NULL};
}
