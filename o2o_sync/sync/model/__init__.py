"""The sync's model: portal records, the column registry, mapping rules, money and GST, the
three-way merge's snapshots, errors and the port ERPNext implements. Frappe-free.

May import: nothing of the app but `o2o_sync.constants`.
"""
