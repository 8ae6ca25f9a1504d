"""Patient-education texts an organisation can edit."""

urlpatterns: list = []
